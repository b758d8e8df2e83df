using BenchmarkDotNet.Attributes;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;

namespace NeuralCore.Benchmarks;

/// <summary>
/// One training step (forward, softmax cross-entropy, backward, Adam) of the MNIST MLP 784 → <see cref="Hidden"/> →
/// ReLU → 10, on a fixed batch. The memory diagnoser shows what a step allocates: 0 B is the contract.
/// </summary>
[MemoryDiagnoser]
public class TrainingStepBenchmarks
{
    internal const int Inputs = 784;
    internal const int Classes = 10;

    private Sequential _model = null!;
    private float[] _x = [];
    private int[] _y = [];

    /// <summary>The hidden layer's width H.</summary>
    [Params(16, 128, 512, 1024)]
    public int Hidden { get; set; }

    /// <summary>Samples per step.</summary>
    [Params(32, 128)]
    public int Batch { get; set; }

    /// <summary>The value given to <see cref="Parallelism.DegreeOfParallelism"/>.</summary>
    [ParamsSource(typeof(BenchmarkParams), nameof(BenchmarkParams.ThreadCounts))]
    public int Threads { get; set; }

    /// <summary>
    /// FLOPs of one step, counting the GEMMs (2 per multiply-add): forward and weight gradient of both layers, and
    /// the input gradient of the output layer (the first layer's input gradient is not needed and not computed).
    /// </summary>
    internal static double Flops(int hidden, int batch) =>
        (2.0 * 2 * batch * Inputs * hidden) + (3 * 2.0 * batch * hidden * Classes);

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.DegreeOfParallelism = Threads;
        var random = new Random(20240613);
        _x = RandomBuffers.Uniform(random, Batch * Inputs);
        _y = [.. Enumerable.Range(0, Batch).Select(_ => random.Next(Classes))];
        _model = new Sequential(Inputs, seed: 1).Add(new Dense(Hidden)).Add(new Relu()).Add(new Dense(Classes));
        _model.Compile(new SoftmaxCrossEntropy(), new Adam(), Batch);
    }

    /// <summary>Forward, loss, backward and Adam update on one batch.</summary>
    [Benchmark]
    public double TrainStep() => _model.TrainStep(_x, _y, Batch).Loss;
}
