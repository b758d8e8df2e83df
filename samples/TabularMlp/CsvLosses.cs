using NeuralCore.Losses;

namespace TabularMlp;

/// <summary>The losses <c>--loss</c> names for a <c>--csv</c> file: two for classes, seven for quantities.</summary>
internal static class CsvLosses
{
    /// <summary>Every name <c>--loss</c> takes.</summary>
    public static readonly string[] Names = ["crossentropy", "focal", "mse", "mae", "huber", "log_cosh", "mape", "msle", "poisson"];

    /// <summary>Whether the loss scores classes (else quantities).</summary>
    public static bool IsClassification(string name) => name is "crossentropy" or "focal";

    /// <summary>Whether the models' outputs must stay positive (the loss reads them under a logarithm), so that they end in Softplus.</summary>
    public static bool NeedsPositiveOutputs(string? name) => name is "msle" or "poisson";

    /// <summary>The loss on the logits of a classifier: softmax cross-entropy by default.</summary>
    public static ILoss Classifier(string? name) => name switch
    {
        null or "crossentropy" => new SoftmaxCrossEntropy(),
        "focal" => new CategoricalFocalCrossentropy(fromLogits: true),
        _ => throw new ArgumentException($"{name} is not a classification loss.", nameof(name)),
    };

    /// <summary>The loss of a regression: mean squared error by default.</summary>
    public static ILoss Regressor(string? name) => name switch
    {
        null or "mse" => new MeanSquaredError(),
        "mae" => new MeanAbsoluteError(),
        "huber" => new Huber(),
        "log_cosh" => new LogCosh(),
        "mape" => new MeanAbsolutePercentageError(),
        "msle" => new MeanSquaredLogarithmicError(),
        "poisson" => new Poisson(),
        _ => throw new ArgumentException($"{name} is not a regression loss.", nameof(name)),
    };

    /// <summary>How a model description names the loss.</summary>
    public static string Describe(string? name) => name switch
    {
        null or "crossentropy" => "cross-entropy",
        "focal" => "focal cross-entropy (γ 2, α 0.25)",
        "mse" => "MSE",
        "mae" => "MAE",
        "huber" => "Huber (δ 1)",
        "log_cosh" => "log-cosh",
        "mape" => "MAPE",
        "msle" => "MSLE",
        _ => "Poisson",
    };
}
