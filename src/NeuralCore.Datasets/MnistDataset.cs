namespace NeuralCore.Data;

/// <summary>MNIST's training and test sets, as loaded by <see cref="Mnist.Load(string)"/>.</summary>
public sealed class MnistDataset
{
    /// <summary>Pairs a training set and a test set.</summary>
    /// <param name="train">The training samples (60,000 in the standard files).</param>
    /// <param name="test">The test samples (10,000 in the standard files).</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public MnistDataset(Dataset train, Dataset test)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        Train = train;
        Test = test;
    }

    /// <summary>The training samples: <c>[Count, 784]</c> pixels in [0, 1] and labels 0..9.</summary>
    public Dataset Train { get; }

    /// <summary>The test samples, laid out like <see cref="Train"/>.</summary>
    public Dataset Test { get; }

    /// <summary>Features per sample: 784 (<see cref="Mnist.Features"/>).</summary>
    public int Features { get; } = Mnist.Features;

    /// <summary>The number of classes: 10 (<see cref="Mnist.Classes"/>).</summary>
    public int Classes { get; } = Mnist.Classes;
}
