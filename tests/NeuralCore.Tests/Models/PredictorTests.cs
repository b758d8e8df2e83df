using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;

namespace NeuralCore.Tests.Models;

/// <summary>
/// A predictor (the model frozen, its dense weights packed once) must predict bitwise what the model predicted when
/// it was created, for every layer kind and output, at every batch size and thread count, and keep doing so while the
/// model trains on.
/// </summary>
[Collection(SerialTests.Name)]
public class PredictorTests
{
    private static void AssertBitwiseEqual(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{what}: element {i} is {actual[i]:R}, the model gave {expected[i]:R}");
        }
    }

    public static TheoryData<string> Models() => ["mnist", "two-hidden", "deep", "activations", "no-bias", "softmax-layer", "binary", "regression", "uncompiled"];

    private static Sequential Build(string kind)
    {
        var model = new Sequential(784, seed: 5);
        switch (kind)
        {
            case "mnist":
                model.Add(new Dense(128)).Add(new Relu()).Add(new Dense(10));
                model.Compile(new SoftmaxCrossEntropy(), new Adam());
                break;
            case "two-hidden":
                model.Add(new Dense(512)).Add(new Relu()).Add(new Dropout(0.2f)).Add(new Dense(256)).Add(new Relu()).Add(new Dense(10));
                model.Compile(new SoftmaxCrossEntropy(), new Adam());
                break;
            case "deep":
                // Its 1024- and 512-unit layers run as one region for a few samples on two threads, reading and
                // overwriting the model's scratch buffers (the 784-128 layer before them is too small to divide).
                model.Add(new Dense(128)).Add(new Relu()).Add(new Dense(1024)).Add(new Relu()).Add(new Dense(512)).Add(new Relu()).Add(new Dense(10));
                model.Compile(new SoftmaxCrossEntropy(), new Adam());
                break;
            case "activations":
                model.Add(new Dense(40, Activation.Tanh)).Add(new Dense(33, Activation.Relu)).Add(new Dense(20, Activation.Sigmoid))
                    .Add(new LeakyRelu()).Add(new Dense(10));
                model.Compile(new SoftmaxCrossEntropy(), new Sgd());
                break;
            case "no-bias":
                model.Add(new Dense(70, useBias: false)).Add(new Relu()).Add(new Dense(10, useBias: false));
                model.Compile(new SoftmaxCrossEntropy(), new Adam());
                break;
            case "softmax-layer":
                model.Add(new Dense(64)).Add(new Relu()).Add(new Dense(10)).Add(new Softmax());
                model.Compile(new CategoricalCrossentropy(), new Adam());
                break;
            case "binary":
                model.Add(new Dense(32)).Add(new Relu()).Add(new Dense(1));
                model.Compile(new BinaryCrossentropy(fromLogits: true), new Adam());
                break;
            case "regression":
                model.Add(new Dense(48, Activation.Relu)).Add(new Dense(3));
                model.Compile(new MeanSquaredError(), new Adam());
                break;
            default:
                model.Add(new Dense(300)).Add(new Relu()).Add(new Dense(17));
                break;
        }

        return model;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Predictions_are_bitwise_the_models_at_every_batch_and_thread_count(string kind)
    {
        Sequential model = Build(kind);
        Predictor predictor = model.CreatePredictor();
        Assert.Equal(model.InputSize, predictor.InputSize);
        Assert.Equal(model.OutputSize, predictor.OutputSize);
        int saved = Parallelism.DegreeOfParallelism;
        var oneThread = new Dictionary<int, float[]>();
        try
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                Parallelism.FmaThreadsOverride = threads;
                Parallelism.DegreeOfParallelism = threads;
                foreach (int batch in new[] { 0, 1, 4, 5, 64, 200 })
                {
                    float[] x = Seeded.Uniform(batch * 784, batch);
                    float[] expected = new float[batch * model.OutputSize], actual = new float[batch * model.OutputSize];
                    model.Predict(x, expected, batch);
                    predictor.Predict(x, actual, batch);
                    AssertBitwiseEqual(expected, actual, $"{kind}, batch {batch}, {threads} threads, Predict");

                    // The same samples on any thread count (a model over one core's L2, "two-hidden", splits even its
                    // smaller few-row products between threads).
                    if (!oneThread.TryAdd(batch, (float[])expected.Clone()))
                    {
                        AssertBitwiseEqual(oneThread[batch], expected, $"{kind}, batch {batch}, {threads} threads against one");
                    }

                    model.Infer(x, expected, batch);
                    predictor.Infer(x, actual, batch);
                    AssertBitwiseEqual(expected, actual, $"{kind}, batch {batch}, {threads} threads, Infer");
                }
            }
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
            Parallelism.FmaThreadsOverride = 0;
        }
    }

    [Fact]
    public void Training_the_model_afterwards_does_not_change_the_predictor()
    {
        Sequential model = Build("mnist");
        float[] x = Seeded.Uniform(64 * 784, 1);
        int[] labels = [.. Enumerable.Range(0, 64).Select(i => i % 10)];
        float[] before = new float[64 * 10];
        model.Predict(x, before, 64);
        Predictor predictor = model.CreatePredictor();

        for (int step = 0; step < 5; step++)
        {
            model.TrainStep(x, labels, 64);
        }

        model.Layers[0].Parameters.Span.Fill(0.5f);
        float[] trained = new float[64 * 10], frozen = new float[64 * 10];
        model.Predict(x, trained, 64);
        predictor.Predict(x, frozen, 64);
        Assert.NotEqual(before, trained);
        AssertBitwiseEqual(before, frozen, "after training");
        AssertBitwiseEqual(before[..10], predictor.Predict(x.AsSpan(0, 784)), "one sample");
    }

    [Trait(IsaIndependent.Trait, IsaIndependent.Value)]
    [Theory]
    [InlineData(64)]
    [InlineData(1)]
    public void Predicting_from_many_threads_matches_sequential_calls(int batch)
    {
        // Batches of 64: each call runs the packed products (and the worker pool, when it is free) while others do.
        // One sample: two layers share one parallel region when the pool is free, and run one after the other when not.
        Predictor predictor = Build("two-hidden").CreatePredictor();
        const int Batches = 6;
        float[][] inputs = [.. Enumerable.Range(0, Batches).Select(i => Seeded.Uniform(batch * 784, 20 + i))];
        float[][] expected = [.. inputs.Select(x =>
        {
            float[] y = new float[batch * 10];
            predictor.Predict(x, y, batch);
            return y;
        })];
        float[][] actual = new float[Batches * 8 * (64 / batch)][];
        Parallel.For(0, actual.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            float[] y = new float[batch * 10];
            predictor.Predict(inputs[i % Batches], y, batch);
            actual[i] = y;
        });
        for (int i = 0; i < actual.Length; i++)
        {
            Assert.Equal(expected[i % Batches], actual[i]);
        }
    }

    [Fact]
    public void Predicting_allocates_nothing_after_warm_up()
    {
        Sequential model = Build("two-hidden");
        Predictor predictor = model.CreatePredictor();
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            // One thread: the measure counts the calling thread's allocations.
            Parallelism.DegreeOfParallelism = 1;
            foreach (int batch in new[] { 1, 64 })
            {
                float[] x = Seeded.Uniform(batch * 784, batch), y = new float[batch * 10];
                // Past the call counts at which .NET recompiles these methods (30 by default).
                for (int i = 0; i < 100; i++)
                {
                    model.Predict(x, y, batch);
                    predictor.Predict(x, y, batch);
                }

                // Five windows of 10 calls each, every one from a settled baseline (AllocationBaseline: the 3,336 bytes a
                // CI run once read in one window were a collection's, not the predictor's).
                long[] predictorWindows = Windows(() => predictor.Predict(x, y, batch));
                long[] modelWindows = Windows(() => model.Predict(x, y, batch));
                Assert.True(predictorWindows.All(b => b == 0), $"batch {batch}: the predictor allocated {string.Join(", ", predictorWindows)} bytes per window of 10 calls");
                Assert.True(modelWindows.All(b => b == 0), $"batch {batch}: the model allocated {string.Join(", ", modelWindows)} bytes per window of 10 calls");
            }

            // One sample on two threads, where two layers share one parallel region: every thread's allocations, the
            // worker's too (the calling thread's alone missed what the worker's share of the region allocated).
            Parallelism.FmaThreadsOverride = 2;
            Parallelism.DegreeOfParallelism = 2;
            float[] sample = Seeded.Uniform(784, 3), output = new float[10];
            for (int i = 0; i < 100; i++)
            {
                model.Predict(sample, output, 1);
                predictor.Predict(sample, output, 1);
            }

            for (int window = 0; window < 5; window++)
            {
                string predictorAllocated = ThreadAllocations.Allocated(ThreadAllocations.During(() =>
                {
                    for (int i = 0; i < 10; i++)
                    {
                        predictor.Predict(sample, output, 1);
                    }
                }));
                Assert.True(predictorAllocated.Length == 0, $"two threads, window {window} of 10 calls: the predictor's {predictorAllocated}");
                string modelAllocated = ThreadAllocations.Allocated(ThreadAllocations.During(() =>
                {
                    for (int i = 0; i < 10; i++)
                    {
                        model.Predict(sample, output, 1);
                    }
                }));
                Assert.True(modelAllocated.Length == 0, $"two threads, window {window} of 10 calls: the model's {modelAllocated}");
            }
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
            Parallelism.FmaThreadsOverride = 0;
        }
    }

    private static long[] Windows(Action call)
    {
        long[] windows = new long[5];
        for (int w = 0; w < windows.Length; w++)
        {
            long before = AllocationBaseline.Read();
            for (int i = 0; i < 10; i++)
            {
                call();
            }

            windows[w] = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        return windows;
    }

    [Fact]
    public void Bad_input_is_rejected_with_its_name()
    {
        Predictor predictor = Build("mnist").CreatePredictor();
        Assert.Equal("sample", Assert.Throws<ArgumentException>(() => predictor.Predict(new float[783])).ParamName);
        Assert.Equal("inputs", Assert.Throws<ArgumentException>(() => predictor.Predict(new float[784], new float[20], 2)).ParamName);
        Assert.Equal("predictions", Assert.Throws<ArgumentException>(() => predictor.Predict(new float[2 * 784], new float[19], 2)).ParamName);
        Assert.Equal("outputs", Assert.Throws<ArgumentException>(() => predictor.Infer(new float[2 * 784], new float[19], 2)).ParamName);
        Assert.Equal("batch", Assert.Throws<ArgumentOutOfRangeException>(() => predictor.Predict(new float[784], new float[10], -1)).ParamName);
        Assert.Throws<InvalidOperationException>(() => new Sequential(4).CreatePredictor());
    }

    [Fact]
    public void A_layer_with_parameters_other_than_dense_is_refused()
    {
        var model = new Sequential(3).Add(new Scale());
        var refused = Assert.Throws<NotSupportedException>(model.CreatePredictor);
        Assert.Contains("'scale'", refused.Message, StringComparison.Ordinal);
    }

    /// <summary>y = w·x with one parameter w.</summary>
    private sealed class Scale : Layer
    {
        public Scale()
            : base("scale")
        {
        }

        public override string DefaultName => "scale";

        public override string TypeId => "Scale";

        public override int ParameterCount => 1;

        protected override int OnBuild(int inputSize) => inputSize;

        protected override void InitializeParameters(Span<float> parameters, ulong seed) => parameters[0] = 2f;

        protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training)
        {
            for (int i = 0; i < input.Length; i++)
            {
                output[i] = Parameters.Span[0] * input[i];
            }
        }

        protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch) =>
            outputGrad.CopyTo(inputGrad);
    }
}
