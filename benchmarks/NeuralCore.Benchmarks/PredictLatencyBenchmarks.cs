using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Onnx;
using NeuralCore.Optimizers;

namespace NeuralCore.Benchmarks;

/// <summary>
/// Prediction latency of a trained-shape MNIST MLP, NeuralCore's <see cref="Sequential.Predict(ReadOnlySpan{float}, Span{float}, int)"/>
/// and its frozen <see cref="Predictor"/> (weights packed once) against ONNX Runtime (CPU provider) running the same
/// model exported with <see cref="OnnxExport.ToOnnx"/>, on the same thread count, both writing into preallocated buffers (ONNX Runtime through bound <see cref="OrtValue"/>s, its
/// fastest managed path). The outputs are the class probabilities in both. The input is MNIST test images (four fifths
/// of their pixels 0, which NeuralCore's first layer skips) or uniform values in [-1, 1) (no zero: the dense case).
/// Beside them, the floor of any float32 prediction on the same threads: reading every parameter once
/// (<see cref="WeightsReadOnce"/>).
/// </summary>
[MemoryDiagnoser]
public class PredictLatencyBenchmarks
{
    private Sequential _model = null!;
    private Predictor _predictor = null!;
    private float[] _predictorOutput = [];
    private float[] _input = [];
    private float[] _output = [];
    private float[] _ortOutput = [];
    private InferenceSession _session = null!;
    private RunOptions _runOptions = null!;
    private OrtValue _ortInput = null!;
    private OrtValue _ortOutputValue = null!;
    private WeightsReadFloor _floor = null!;
    private readonly string[] _inputNames = ["input"];
    private readonly string[] _outputNames = ["output"];

    /// <summary>The hidden layers.</summary>
    [Params("128", "512-256")]
    public string Hidden { get; set; } = "128";

    /// <summary>Samples per call.</summary>
    [Params(1, 64)]
    public int Batch { get; set; }

    /// <summary>The input: <c>mnist</c> (the first test images) or <c>uniform</c> (no pixel 0).</summary>
    [Params("mnist", "uniform")]
    public string Input { get; set; } = "mnist";

    /// <summary>Threads for both: <see cref="Parallelism.DegreeOfParallelism"/> and ONNX Runtime's intra-op threads.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.DegreeOfParallelism = Threads;
        _model = new Sequential(784, seed: 1);
        foreach (string units in Hidden.Split('-'))
        {
            _model.Add(new Dense(int.Parse(units, System.Globalization.CultureInfo.InvariantCulture))).Add(new Relu());
        }

        _model.Add(new Dense(10));
        _model.Compile(new SoftmaxCrossEntropy(), new Adam(), Batch);
        if (Input == "mnist")
        {
            _input = MnistOnce.Data.Test.Features[..(Batch * 784)];
        }
        else
        {
            var random = new Random(7);
            _input = RandomBuffers.Uniform(random, Batch * 784);
        }

        _output = new float[Batch * 10];
        _predictorOutput = new float[Batch * 10];
        _predictor = _model.CreatePredictor();
        _ortOutput = new float[Batch * 10];

        var options = new SessionOptions { IntraOpNumThreads = Threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL;
        _session = new InferenceSession(_model.ToOnnx(), options);
        _runOptions = new RunOptions();
        _ortInput = OrtValue.CreateTensorValueFromMemory(_input, [Batch, 784]);
        _ortOutputValue = OrtValue.CreateTensorValueFromMemory(_ortOutput, [Batch, 10]);
        _floor = new WeightsReadFloor(_model.Parameters.Span, Threads);

        // Both must compute the same thing before they are timed.
        NeuralCore();
        NeuralCorePredictor();
        OnnxRuntime();
        if (!_output.AsSpan().SequenceEqual(_predictorOutput))
        {
            throw new InvalidOperationException("The predictor's outputs are not bitwise the model's.");
        }

        for (int i = 0; i < _output.Length; i++)
        {
            if (Math.Abs(_output[i] - _ortOutput[i]) > 1e-5f)
            {
                throw new InvalidOperationException($"NeuralCore and ONNX Runtime disagree at [{i}]: {_output[i]} against {_ortOutput[i]}.");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ortInput.Dispose();
        _ortOutputValue.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
        _floor.Dispose();
    }

    /// <summary>NeuralCore: forward pass and softmax into a preallocated buffer.</summary>
    [Benchmark(Baseline = true)]
    public float NeuralCore()
    {
        _model.Predict(_input, _output, Batch);
        return _output[0];
    }

    /// <summary>NeuralCore's frozen predictor: the same forward pass on weights packed when it was created.</summary>
    [Benchmark]
    public float NeuralCorePredictor()
    {
        _predictor.Predict(_input, _predictorOutput, Batch);
        return _predictorOutput[0];
    }

    /// <summary>ONNX Runtime on the exported graph, with bound input and output tensors.</summary>
    [Benchmark]
    public float OnnxRuntime()
    {
        _session.Run(_runOptions, _inputNames, [_ortInput], _outputNames, [_ortOutputValue]);
        return _ortOutput[0];
    }

    /// <summary>
    /// Not a prediction: every parameter of the model read once on the same threads (<see cref="WeightsReadFloor"/>),
    /// the least time a float32 prediction of one sample can take where the weights do not stay in the cores' caches
    /// from one call to the next. Where it exceeds half of <see cref="OnnxRuntime"/>'s time, no float32 predictor can
    /// take half of ONNX Runtime's time on that machine.
    /// </summary>
    [Benchmark]
    public float WeightsReadOnce() => _floor.Read();
}
