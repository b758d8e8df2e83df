using NeuralCore.Layers;

namespace NeuralCore.Tests.Layers;

/// <summary>Every built-in layer, built over small sizes, for the shared contract tests.</summary>
public static class LayerFactory
{
    public static TheoryData<string> Names() => ["dense", "relu", "dropout", "softmax"];

    public static ILayer Create(string name, int inputSize, int outputSize, ulong seed) => name switch
    {
        "dense" => new Dense(inputSize, outputSize, seed),
        "relu" => new Relu(inputSize),
        "dropout" => new Dropout(inputSize, 0.3f, seed),
        "softmax" => new Softmax(inputSize),
        _ => throw new ArgumentException($"unknown layer {name}", nameof(name)),
    };
}
