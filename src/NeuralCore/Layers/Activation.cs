namespace NeuralCore.Layers;

/// <summary>The activation a <see cref="Dense"/> layer applies to its output (Keras's <c>activation</c> argument).</summary>
public enum Activation
{
    /// <summary>None: <c>y = z</c> (Keras's <c>None</c> / <c>"linear"</c>).</summary>
    Linear,

    /// <summary><c>y = max(z, 0)</c>.</summary>
    Relu,

    /// <summary><c>y = 1 / (1 + exp(-z))</c>.</summary>
    Sigmoid,

    /// <summary><c>y = tanh(z)</c>.</summary>
    Tanh,

    /// <summary>Row-wise softmax (maximum subtracted first).</summary>
    Softmax,
}

/// <summary>Keras's names of the <see cref="Activation"/> values, as model files store them.</summary>
internal static class ActivationNames
{
    public static string Of(Activation activation) => activation switch
    {
        Activation.Linear => "linear",
        Activation.Relu => "relu",
        Activation.Sigmoid => "sigmoid",
        Activation.Tanh => "tanh",
        Activation.Softmax => "softmax",
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
    };

    public static Activation Parse(string name) => name switch
    {
        "linear" => Activation.Linear,
        "relu" => Activation.Relu,
        "sigmoid" => Activation.Sigmoid,
        "tanh" => Activation.Tanh,
        "softmax" => Activation.Softmax,
        _ => throw new InvalidDataException(
            $"Unknown activation '{name}': expected linear, relu, sigmoid, tanh or softmax."),
    };
}
