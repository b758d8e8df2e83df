namespace MnistMlp;

/// <summary>What the trainer was asked to do, after defaults and the preset were applied.</summary>
internal sealed record TrainSettings
{
    public IReadOnlyList<int> Hidden { get; init; } = [128];

    public int Epochs { get; init; } = 10;

    public int BatchSize { get; init; } = 32;

    /// <summary><c>adam</c> or <c>sgd</c>.</summary>
    public string Optimizer { get; init; } = "adam";

    /// <summary>Null means the optimizer's Keras default (Adam 0.001, SGD 0.01).</summary>
    public float? LearningRate { get; init; }

    /// <summary><c>crossentropy</c> (softmax + categorical cross-entropy on logits) or <c>mse</c> (softmax output, mean squared error).</summary>
    public string Loss { get; init; } = "crossentropy";

    public float Dropout { get; init; }

    public double ValidationSplit { get; init; } = 0.1;

    /// <summary>0 means every processor.</summary>
    public int Threads { get; init; }

    public ulong Seed { get; init; } = 42;

    public string? DataDirectory { get; init; }

    public string OutputDirectory { get; init; } = Path.Combine("runs", "mnist");

    /// <summary>The preset applied before explicit options, if any.</summary>
    public string? Preset { get; init; }

    public float EffectiveLearningRate => LearningRate ?? (Optimizer == "sgd" ? 0.01f : 0.001f);

    /// <summary>The course notebook's configuration: one hidden layer of 16, MSE on a softmax output, Adam, 5 epochs, batch 100, 20% validation.</summary>
    public static TrainSettings Notebook { get; } = new()
    {
        Hidden = [16],
        Loss = "mse",
        Optimizer = "adam",
        Epochs = 5,
        BatchSize = 100,
        ValidationSplit = 0.2,
        Preset = "notebook",
    };
}
