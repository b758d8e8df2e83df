using BenchmarkDotNet.Attributes;
using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Training;

namespace NeuralCore.Benchmarks;

/// <summary>Loads the repository's MNIST copy once per process for the benchmarks that need real data.</summary>
internal static class MnistOnce
{
    private static readonly Lazy<MnistDataset> s_data = new(() =>
    {
        string directory = MnistLocator.FindRepositoryCopy(MnistLocator.DefaultSearchStarts)
            ?? throw new DirectoryNotFoundException("The repository's data/mnist folder was not found above the benchmark's folder.");
        return Mnist.Load(directory);
    });

    public static MnistDataset Data => s_data.Value;
}

/// <summary>
/// One full epoch of <see cref="ModelTraining.Fit"/> on MNIST's 60,000 training images (shuffled, no validation):
/// 784 → <see cref="Hidden"/> → ReLU → 10, softmax cross-entropy, Adam.
/// </summary>
[MemoryDiagnoser]
public class EpochBenchmarks
{
    private Sequential _model = null!;
    private FitOptions _options = null!;

    /// <summary>The hidden layer's width H.</summary>
    [Params(16, 128, 512, 1024)]
    public int Hidden { get; set; }

    /// <summary>Samples per step.</summary>
    [Params(32, 128)]
    public int Batch { get; set; }

    /// <summary>The value given to <see cref="Parallelism.DegreeOfParallelism"/>.</summary>
    [ParamsSource(typeof(BenchmarkParams), nameof(BenchmarkParams.ThreadCounts))]
    public int Threads { get; set; }

    /// <summary>FLOPs of one epoch: the training steps' GEMMs (see <see cref="TrainingStepBenchmarks.Flops"/>).</summary>
    internal static double Flops(int hidden, int batch)
    {
        const int samples = 60_000;
        int full = samples / batch, rest = samples % batch;
        return (full * TrainingStepBenchmarks.Flops(hidden, batch)) + (rest > 0 ? TrainingStepBenchmarks.Flops(hidden, rest) : 0);
    }

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.DegreeOfParallelism = Threads;
        _ = MnistOnce.Data;
        _model = new Sequential(784, seed: 1).Add(new Dense(Hidden)).Add(new Relu()).Add(new Dense(10));
        _model.Compile(new SoftmaxCrossEntropy(), new Adam(), Batch);
        // Every step on the threads asked for: the rows compare thread counts, which Fit's own timing would blur.
        _options = new FitOptions { Epochs = 1, BatchSize = Batch, MeasureStepThreads = false };
    }

    /// <summary>One epoch over the 60,000 training images.</summary>
    [Benchmark]
    public double Epoch() => _model.Fit(MnistOnce.Data.Train, _options).Loss[0];
}

/// <summary>Inference: class probabilities for <see cref="Batch"/> MNIST test images with a trained-size model.</summary>
[MemoryDiagnoser]
public class InferenceBenchmarks
{
    private Sequential _model = null!;
    private float[] _probabilities = [];

    /// <summary>The hidden layer's width H.</summary>
    [Params(16, 128, 512, 1024)]
    public int Hidden { get; set; }

    /// <summary>Images per call.</summary>
    [Params(1, 32, 1000)]
    public int Batch { get; set; }

    /// <summary>The value given to <see cref="Parallelism.DegreeOfParallelism"/>.</summary>
    [ParamsSource(typeof(BenchmarkParams), nameof(BenchmarkParams.ThreadCounts))]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.DegreeOfParallelism = Threads;
        _ = MnistOnce.Data;
        _model = new Sequential(784, seed: 1).Add(new Dense(Hidden)).Add(new Relu()).Add(new Dense(10));
        _probabilities = new float[Batch * 10];
    }

    /// <summary>Forward in inference mode and softmax, for one batch.</summary>
    [Benchmark]
    public float Predict()
    {
        _model.Predict(MnistOnce.Data.Test.Features.AsSpan(0, Batch * 784), _probabilities, Batch);
        return _probabilities[0];
    }
}
