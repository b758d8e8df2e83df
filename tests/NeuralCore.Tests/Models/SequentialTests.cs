using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NeuralCore.Diagnostics;
using NeuralCore.Kernels;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Threading;
using NeuralCore.Training;

namespace NeuralCore.Tests.Models;

/// <summary>A two-hidden-layer model problem.</summary>
public sealed record ModelCase(int Batch, int Inputs, int Hidden1, int Hidden2, int Classes, bool Mse, int Seed);

public static class ModelGenerators
{
    public static Arbitrary<ModelCase> ModelCases() =>
        (from batch in Gen.Elements(1, 2, 3, 5)
         from inputs in Gen.Elements(1, 3, 6)
         from h1 in Gen.Elements(1, 4, 7)
         from h2 in Gen.Elements(2, 5)
         from classes in Gen.Elements(2, 3, 10)
         from mse in Gen.Elements(false, true)
         from seed in Gen.Choose(0, 100_000)
         select new ModelCase(batch, inputs, h1, h2, classes, mse, seed))
        .ToArbitrary();
}

public class SequentialTests
{
    internal static Sequential Mlp(int hidden, ulong seed = 1) =>
        new Sequential(784, seed).Add(new Dense(hidden)).Add(new Relu()).Add(new Dense(10));

    private static Sequential TwoHidden(ModelCase c)
    {
        var model = new Sequential(c.Inputs, (ulong)c.Seed)
            .Add(new Dense(c.Hidden1)).Add(new Relu())
            .Add(new Dense(c.Hidden2)).Add(new Relu())
            .Add(new Dense(c.Classes));
        if (c.Mse)
        {
            model.Add(new Softmax());
        }

        model.Compile(c.Mse ? new MeanSquaredError() : new SoftmaxCrossEntropy(), new Sgd());
        return model;
    }

    /// <summary>The smallest distance of any hidden pre-activation from the ReLU kink.</summary>
    private static float KinkDistance(Sequential model, float[] x, int batch)
    {
        float nearest = float.MaxValue;
        ReadOnlySpan<float> input = x;
        foreach (ILayer layer in model.Layers)
        {
            float[] y = new float[batch * layer.OutputSize];
            layer.Forward(input, y, batch, training: false);
            if (layer is Dense && layer != model.Layers[^1] && !(model.Layers[^1] is Softmax && layer == model.Layers[^2]))
            {
                nearest = Math.Min(nearest, y.Min(MathF.Abs));
            }

            input = y;
        }

        return nearest;
    }

    [Property(Arbitrary = [typeof(ModelGenerators)], MaxTest = 30)]
    public void Whole_model_gradients_match_differences(ModelCase c)
    {
        // A step of 1e-3 moves any pre-activation by well under 0.005, so a point whose hidden pre-activations all
        // sit further than that from the ReLU kink is checked exactly; draw points until one qualifies.
        for (int attempt = 0; attempt < 100; attempt++)
        {
            int seed = c.Seed + (attempt * 7919);
            Sequential model = TwoHidden(c with { Seed = seed });
            Seeded.Uniform(model.ParameterCount, seed + 3, 0.7f).CopyTo(model.Parameters.Span); // non-zero biases too
            var random = new Random(seed);
            int[] labels = [.. Enumerable.Range(0, c.Batch).Select(_ => random.Next(c.Classes))];
            float[] x = Seeded.Uniform(c.Batch * c.Inputs, seed);
            if (KinkDistance(model, x, c.Batch) < 0.005f)
            {
                continue;
            }

            // Float forwards give the loss about 3e-7 of rounding noise, 1.5e-4 after dividing by 2h: hence the 1e-2 floor.
            // That noise, read against the floor, is the error: measured on 2026-12-06 over 63,000 cases (21,000 at each
            // of the three instruction-set levels CI runs), median 7e-4, 99.9th percentile 9.5e-3, max 1.72e-2 (AVX2);
            // bound = 3.5 × 1.72e-2. (The 2e-2 before stood 1.16 times above that maximum.)
            var result = GradientChecker.CheckModel(model, x, labels, c.Batch, step: 1e-3f, floor: 1e-2);
            Assert.True(result.MaxError < 6e-2, $"{c with { Seed = seed }}: {result}");
            return;
        }

        Assert.Fail($"{c}: no point away from the ReLU kinks was found");
    }

    [Fact]
    public void A_gradient_check_whose_outputs_overflow_fails_the_check_and_leaves_every_weight_where_it_was()
    {
        // Inputs of 3e38 and weights of 1: the perturbed forwards overflow. The public Infer now refuses such outputs, and
        // the checker, calling it, threw with the first weight left moved by the step (1.01 instead of 1).
        var model = new Sequential(2, seed: 1).Add(new Dense(3)).Add(new Relu()).Add(new Dense(2));
        model.Compile(new SoftmaxCrossEntropy(), new Sgd());
        model.Parameters.Span.Fill(1f);
        float[] before = model.Parameters.ToArray();
        var result = GradientChecker.CheckModel(model, [3e38f, 3e38f], [1], 1, step: 1e-2f);
        Assert.False(result.MaxError < 1e-2, result.ToString());
        Assert.Equal(before, model.Parameters.ToArray());
    }

    /// <summary>
    /// The arena and its gradients start on a cache line (a few-row product on two threads read misaligned weights 40%
    /// slower), whatever address the pinned array itself got, and hold the layers' parameters in order.
    /// </summary>
    [Fact]
    public unsafe void The_arena_and_its_gradients_start_on_a_cache_line()
    {
        for (int i = 0; i < 8; i++)
        {
            // Arrays of varied sizes in between, so that the arenas land at varied offsets.
            _ = GC.AllocateArray<float>(1 + i, pinned: true);
            var model = new Sequential(3 + i, seed: (ulong)i).Add(new Dense(5)).Add(new Relu()).Add(new Dense(2));
            model.Compile(new SoftmaxCrossEntropy(), new Sgd(0.1f));
            fixed (float* p = model.Parameters.Span, g = model.Gradients.Span)
            {
                Assert.Equal(0L, (long)p % 64);
                Assert.Equal(0L, (long)g % 64);
            }

            Assert.Equal(model.Layers[0].Parameters.ToArray(), model.Parameters[..model.Layers[0].ParameterCount].ToArray());
            Assert.Equal(model.Layers[2].Parameters.ToArray(), model.Parameters[^model.Layers[2].ParameterCount..].ToArray());
        }
    }

    [Fact]
    public void Learns_xor_to_near_zero_loss()
    {
        float[] x = [0, 0, 0, 1, 1, 0, 1, 1];
        int[] y = [0, 1, 1, 0];
        var model = new Sequential(2, seed: 3).Add(new Dense(16)).Add(new Relu()).Add(new Dense(2));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(0.05f));
        TrainStepResult first = model.TrainStep(x, y, 4), last = first;
        for (int i = 0; i < 300; i++)
        {
            last = model.TrainStep(x, y, 4);
        }

        Assert.True(last.Loss < 0.02, $"loss went from {first.Loss} to {last.Loss}");
        Assert.Equal(4, last.Correct);
        float[] p = new float[8];
        model.Predict(x, p, 4);
        for (int i = 0; i < 4; i++)
        {
            Assert.True(p[(i * 2) + y[i]] > 0.95f, $"sample {i}: {p[i * 2]}, {p[(i * 2) + 1]}");
        }
    }

    [Fact]
    public void Learns_two_gaussian_blobs_with_mse_on_softmax()
    {
        var random = new Random(5);
        const int n = 64;
        float[] x = new float[n * 2];
        int[] y = new int[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % 2;
            x[i * 2] = (float)(((y[i] * 2) - 1) * 1.5 + (random.NextDouble() - 0.5));
            x[(i * 2) + 1] = (float)(random.NextDouble() - 0.5);
        }

        var model = new Sequential(2, seed: 1).Add(new Dense(8)).Add(new Relu()).Add(new Dense(2)).Add(new Softmax());
        model.Compile(new MeanSquaredError(), new Sgd(new SgdOptions(0.5f, 0.9f)));
        TrainStepResult last = default;
        for (int i = 0; i < 200; i++)
        {
            last = model.TrainStep(x, y, n);
        }

        Assert.True(last.Loss < 0.01, $"final loss {last.Loss}");
        Assert.Equal(n, last.Correct);
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("regularized")]
    [InlineData("batch_normalized")]
    public void A_training_step_allocates_nothing_after_warm_up(string setup)
    {
        Sequential model = setup == "batch_normalized"
            ? new Sequential(784, seed: 1).Add(new Dense(64)).Add(new BatchNormalization()).Add(new Relu()).Add(new Dense(10))
            : Mlp(64);
        if (setup == "regularized")
        {
            // The penalty's column sums work in a pooled scratch, rented and returned every step.
            foreach (Dense dense in model.Layers.OfType<Dense>())
            {
                dense.KernelRegularizer = new Regularizer(1e-4f, 1e-3f);
                dense.BiasRegularizer = Regularizer.L2(1e-3f);
            }
        }

        model.Add(new Dropout(0.2f));
        model.Compile(new SoftmaxCrossEntropy(), new Adam());

        // The step on this thread alone, as on the machines the threshold was measured on. On a slower core (AMD EPYC
        // Zen 1) this model's step takes two threads, and when the FMA units' count is measured again mid-test
        // (Parallelism.FmaThreads, while other tests hold the workers) the first step on the second thread allocates its
        // buffers once: 8,800 bytes in the first window of two CI runs.
        model.StepThreshold = Sequential.MinStepFmaPerThread;
        float[] x = Seeded.Uniform(32 * 784, 1);
        int[] y = [.. Enumerable.Range(0, 32).Select(i => i % 10)];
        for (int i = 0; i < 5; i++)
        {
            model.TrainStep(x, y, 32);
        }

        // Five windows of 20 steps, each from a settled baseline: the 4,088 bytes a CI run once read in one window, while
        // other test classes ran beside it, were a collection's retiring this thread's allocation context
        // (AllocationBaseline), not a step's.
        long[] windows = new long[5];
        for (int w = 0; w < windows.Length; w++)
        {
            long before = AllocationBaseline.Read();
            for (int i = 0; i < 20; i++)
            {
                model.TrainStep(x, y, 32);
            }

            windows[w] = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.True(windows.All(b => b == 0), $"bytes allocated per window of 20 steps: {string.Join(", ", windows)}");
    }

    [Theory]
    [InlineData("clipnorm")]
    [InlineData("global_clipnorm")]
    [InlineData("clipvalue")]
    public void A_step_that_starts_clipping_after_warm_up_allocates_nothing(string clipping)
    {
        // The clipped copy's buffer was allocated by the first step that clipped (80 KB for a 100-200-10 model), which
        // may come any time. A model small enough that its step runs on this thread alone, so that this thread's count
        // is the step's.
        var model = new Sequential(20, seed: 3).Add(new Dense(30)).Add(new Relu()).Add(new Dense(10));
        Adam adam = clipping switch
        {
            "clipnorm" => new Adam(1e-3f) { ClipNorm = 1f },
            "global_clipnorm" => new Adam(1e-3f) { GlobalClipNorm = 1f },
            _ => new Adam(1e-3f) { ClipValue = 1f },
        };

        model.Compile(new SoftmaxCrossEntropy(), adam);
        Assert.Equal(1, model.StepThreads(8));
        float[] quiet = [.. Seeded.Uniform(8 * 20, 2).Select(v => v * 1e-4f)], loud = [.. Seeded.Uniform(8 * 20, 2).Select(v => v * 1e4f)];
        int[] y = [.. Enumerable.Range(0, 8).Select(i => i % 10)];
        for (int i = 0; i < 30; i++)
        {
            model.TrainStep(quiet, y, 8);
        }

        long before = AllocationBaseline.Read();
        for (int i = 0; i < 5; i++)
        {
            model.TrainStep(loud, y, 8);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Summary_prints_the_keras_table()
    {
        Sequential model = Mlp(128);
        string summary = model.Summary();
        string expected = string.Join('\n',
            "Model: \"sequential\"",
            new string('_', 65),
            " Layer (type)                Output Shape              Param #",
            new string('=', 65),
            " dense (Dense)               (None, 128)               100480",
            " re_lu (ReLU)                (None, 128)               0",
            " dense_1 (Dense)             (None, 10)                1290",
            new string('=', 65),
            "Total params: 101770 (397.54 KB)",
            "Trainable params: 101770 (397.54 KB)",
            "Non-trainable params: 0 (0.00 B)",
            new string('_', 65),
            string.Empty);
        Assert.Equal(expected, summary);
    }

    [Fact]
    public void Add_checks_sizes_and_compile_state()
    {
        var model = new Sequential(4);
        var ex = Assert.Throws<ArgumentException>(() => model.Add(new Dense(5, 3, 0)));
        Assert.Equal("Layer 'dense' expects 5 input features but the model's input has 4. (Parameter 'layer')", ex.Message);
        model.Add(new Dense(3));
        ex = Assert.Throws<ArgumentException>(() => model.Add(new Normalization(4)));
        Assert.Contains("Layer 'normalization' expects 4 input features but the previous layer outputs 3", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => model.TrainStep(new float[4], [0], 1));
        model.Compile(new SoftmaxCrossEntropy(), new Sgd());
        Assert.Throws<InvalidOperationException>(() => model.Add(new Relu()));
        Assert.Throws<InvalidOperationException>(() => new Sequential(3).Compile(new SoftmaxCrossEntropy(), new Sgd()));
    }

    [Fact]
    public void Train_step_reports_mismatched_shapes()
    {
        Sequential model = Mlp(8);
        model.Compile(new SoftmaxCrossEntropy(), new Adam());
        var inputs = Assert.Throws<ArgumentException>(() => model.TrainStep(new float[783], [1], 1));
        Assert.Equal("inputs", inputs.ParamName);
        Assert.Contains("[batch=1, 784]", inputs.Message, StringComparison.Ordinal);
        var labels = Assert.Throws<ArgumentException>(() => model.TrainStep(new float[784 * 2], [1], 2));
        Assert.Equal("labels", labels.ParamName);
        var range = Assert.Throws<ArgumentException>(() => model.TrainStep(new float[784], [10], 1));
        Assert.Contains("labels[0] = 10", range.Message, StringComparison.Ordinal);

        // More values than the rows hold: rows of another width (a label column left in) were read as if they were
        // rows of 784, and the results were silently wrong (accuracy 0.41 instead of 0.97 in the report that found it).
        var wide = Assert.Throws<ArgumentException>(() => model.TrainStep(new float[785], [1], 1));
        Assert.Contains("needs exactly 784: 1 more than the rows hold", wide.Message, StringComparison.Ordinal);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => model.TrainStep(new float[784], [1, 2], 1)).ParamName);
        Assert.Contains("one weight per sample", Assert.Throws<ArgumentException>(() =>
            model.TrainStep(new float[784], LossTargets.FromLabels([1], [1f, 5f]), 1)).Message, StringComparison.Ordinal);
        float[] rows = new float[(3 * 784) + 3];
        int[] three = [1, 2, 3];
        foreach ((string name, Action read) in new (string, Action)[]
        {
            ("Infer", () => model.Infer(rows, new float[30], 3)),
            ("Predict", () => model.Predict(rows, new float[30], 3)),
            ("Evaluate", () => model.Evaluate(rows, three, 3)),
            ("PredictClasses", () => model.PredictClasses(rows, 3)),
            ("ConfusionMatrix", () => model.ConfusionMatrix(rows, three, 3)),
            ("Predictor.Predict", () => model.CreatePredictor().Predict(rows, new float[30], 3)),
        })
        {
            var ex = Assert.Throws<ArgumentException>(read);
            Assert.True(ex.Message.Contains("needs exactly 2352", StringComparison.Ordinal), $"{name}: {ex.Message}");
        }

        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => model.Evaluate(rows.AsSpan(0, 3 * 784), [1, 2, 3, 4], 3)).ParamName);

        // Target values and weights are checked as Fit checks them: a binary target of 2 and a NaN weight trained.
        var binary = new Sequential(2, seed: 1).Add(new Dense(1));
        binary.Compile(new BinaryCrossentropy(fromLogits: true), new Sgd(0.1f));
        float[] before = binary.Parameters.ToArray();
        var two = Assert.Throws<ArgumentException>(() => binary.TrainStep(new float[4], LossTargets.FromValues([1f, 2f]), 2));
        Assert.Contains("targets[1, 0] = 2, but binary_crossentropy needs", two.Message, StringComparison.Ordinal);
        var nan = Assert.Throws<ArgumentException>(() => binary.ComputeGradients(new float[4], LossTargets.FromValues([1f, 0f], [1f, float.NaN]), 2));
        Assert.Contains("Sample weight 1 is NaN", nan.Message, StringComparison.Ordinal);
        Assert.Equal(before, binary.Parameters.ToArray());
    }

    [Fact]
    public void Predict_single_sample_matches_the_batch()
    {
        Sequential model = Mlp(16);
        model.Compile(new SoftmaxCrossEntropy(), new Adam());
        float[] x = Seeded.Uniform(3 * 784, 2);
        float[] batch = new float[30];
        model.Predict(x, batch, 3);
        float[] single = model.Predict(x.AsSpan(784, 784));
        Assert.Equal(batch[10..20], single);
        Assert.Equal(1.0, single.Sum(v => (double)v), 1e-5);
    }

    [Fact]
    public void Prediction_refuses_inputs_that_are_not_finite_and_names_the_value()
    {
        // Fit and Evaluate refused a NaN input, while every way of predicting returned a NaN row for it, silently.
        Sequential model = Mlp(16);
        model.Compile(new SoftmaxCrossEntropy(), new Adam());
        Predictor predictor = model.CreatePredictor();
        float[] x = Seeded.Uniform(3 * 784, 2);
        x[784 + 5] = float.NaN;
        float[] outputs = new float[30];
        Action[] calls =
        [
            () => model.Predict(x, outputs, 3),
            () => model.Infer(x, outputs, 3),
            () => predictor.Predict(x, outputs, 3),
            () => predictor.Infer(x, outputs, 3),
        ];
        foreach (Action call in calls)
        {
            var e = Assert.Throws<ArgumentException>(call);
            Assert.Equal("inputs", e.ParamName);
            Assert.Contains("inputs[1, 5] = NaN", e.Message, StringComparison.Ordinal);
        }

        // The row is the caller's, not the chunk's; and a single sample is named as the argument it came in.
        x[784 + 5] = 0f;
        x[(2 * 784) + 7] = float.NegativeInfinity;
        var chunked = Assert.Throws<ArgumentException>(() => model.Predict(x, 3, batchSize: 1));
        Assert.Contains("inputs[2, 7] = -Infinity", chunked.Message, StringComparison.Ordinal);
        foreach (Func<float[]> single in new Func<float[]>[] { () => model.Predict(x.AsSpan(2 * 784, 784)), () => predictor.Predict(x.AsSpan(2 * 784, 784)) })
        {
            var e = Assert.Throws<ArgumentException>(() => single());
            Assert.Equal("sample", e.ParamName);
            Assert.Contains("sample[0, 7] = -Infinity", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(3)]
    [InlineData(8)]
    [InlineData(0)]
    public void Outputs_that_overlap_the_inputs_give_what_separate_buffers_give(int shift)
    {
        // Element-wise layers read and wrote one element at a time: a shifted overlap read values already written (a
        // lone Softmax or capped ReLU gave wrong outputs), and a Dense refused it by its kernel's parameter names.
        Func<Sequential>[] models =
        [
            () => new Sequential(8).Add(new Softmax()),
            () => new Sequential(8).Add(new Relu { MaxValue = 1f }),
            () => new Sequential(8).Add(new Gelu()),
            () => new Sequential(8, seed: 2).Add(new Dense(8)),
            () => new Sequential(8, seed: 2).Add(new Dense(8)).Add(new Relu()).Add(new Dense(8)),
        ];
        foreach (Func<Sequential> build in models)
        {
            Sequential model = build();
            float[] x = Seeded.Uniform(32, 4);
            float[] expected = new float[32];
            model.Infer(x, expected, 4);
            float[] buffer = new float[48];
            x.CopyTo(buffer, 0);
            model.Infer(buffer.AsSpan(0, 32), buffer.AsSpan(shift, 32), 4);
            Assert.Equal(expected, buffer.AsSpan(shift, 32).ToArray());
        }
    }
}

[Collection(SerialTests.Name)]
public class SequentialDeterminismTests
{
    private static Sequential Build(int shape, ulong seed, IOptimizer optimizer)
    {
        var model = new Sequential(784, seed);
        switch (shape)
        {
            case 0:
                model.Add(new Dense(256)).Add(new Relu()).Add(new Dropout(0.2f)).Add(new Dense(10));
                break;
            default:
                // Two hidden layers: the middle Dense applies the first ReLU's mask in its input-gradient product.
                model.Add(new Dense(300)).Add(new Relu()).Add(new Dense(200)).Add(new Relu()).Add(new Dense(10));
                break;
        }

        model.Compile(new SoftmaxCrossEntropy(), optimizer);
        return model;
    }

    private static float[] Train(int threads, ulong seed, int shape = 0, bool sgd = false, int batch = 128, Func<IOptimizer>? make = null,
        Action<Sequential>? setup = null)
    {
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            Parallelism.DegreeOfParallelism = threads;
            Parallelism.FmaThreadsOverride = threads;
            IOptimizer optimizer = make?.Invoke() ?? (sgd ? new Sgd(new SgdOptions(0.05f, Momentum: 0.9f, Nesterov: true)) : new Adam());
            Sequential model = Build(shape, seed, optimizer);
            setup?.Invoke(model);
            float[] x = Seeded.Uniform(batch * 784, 7);
            int[] y = [.. Enumerable.Range(0, batch).Select(i => (i * 7) % 10)];
            for (int step = 0; step < 20; step++)
            {
                model.TrainStep(x, y, batch);
            }

            return model.Parameters.ToArray();
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
            Parallelism.FmaThreadsOverride = 0;
        }
    }

    [Theory]
    [InlineData(16, 128, 1, 0)] // 3.3 M multiply-adds a step: slower on two threads than on one (docs/benchmarks.md)
    [InlineData(16, 32, 1, 0)]
    [InlineData(128, 32, 2, 0)] // 6.5 M: faster on two
    [InlineData(1024, 128, 2, 0)]
    [InlineData(16, 128, 1, 213e9)] // the Zen 5's probe: its measurement
    [InlineData(16, 128, 1, 117e9)] // a Zen 4's: as the Zen 5 (nothing measured there)
    [InlineData(16, 128, 2, 43e9)] // the Zen 1's: 1.6x faster on two
    [InlineData(8, 128, 1, 43e9)] // 1.6 M: slower on two there too
    [InlineData(16, 64, 1, 43e9)]
    [InlineData(16, 128, 2, 10e9)] // slower still: never below half the threshold
    [InlineData(8, 128, 1, 10e9)]
    public void A_step_too_small_for_two_threads_runs_on_one(int hidden, int batch, int expected, double oneThreadFlops)
    {
        int saved = Parallelism.DegreeOfParallelism;
        double savedFlops = FmaCalibration.OneThreadFlopsOverride;
        try
        {
            // 0: the threshold as measured, which is also a machine's before its rate is measured.
            Assert.Equal(Sequential.MinStepFmaPerThread, Sequential.StepFmaThreshold(0));
            Assert.Equal(Sequential.MinStepFmaPerThread, Sequential.StepFmaThreshold(Sequential.ReferenceOneThreadFlops));
            FmaCalibration.OneThreadFlopsOverride = oneThreadFlops > 0 ? oneThreadFlops : Sequential.ReferenceOneThreadFlops;
            Parallelism.DegreeOfParallelism = 2;
            var model = new Sequential(784, seed: 1).Add(new Dense(hidden)).Add(new Relu()).Add(new Dense(10));
            Assert.Equal(expected, model.StepThreads(batch));

            // The cap never exceeds the degree of parallelism.
            Parallelism.DegreeOfParallelism = 1;
            Assert.Equal(1, model.StepThreads(batch));
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
            FmaCalibration.OneThreadFlopsOverride = savedFlops;
        }
    }

    [Fact]
    public void A_models_step_threads_stay_as_its_first_step_chose_them()
    {
        // A rate measured later (another model's first parallel product) must not move a training to more threads.
        int saved = Parallelism.DegreeOfParallelism;
        double savedFlops = FmaCalibration.OneThreadFlopsOverride;
        try
        {
            Parallelism.DegreeOfParallelism = 2;
            FmaCalibration.OneThreadFlopsOverride = Sequential.ReferenceOneThreadFlops;
            var model = new Sequential(784, seed: 1).Add(new Dense(16)).Add(new Relu()).Add(new Dense(10));
            Assert.Equal(1, model.StepThreads(128));
            FmaCalibration.OneThreadFlopsOverride = 43e9;
            Assert.Equal(1, model.StepThreads(128));
            var fresh = new Sequential(784, seed: 1).Add(new Dense(16)).Add(new Relu()).Add(new Dense(10));
            Assert.Equal(2, fresh.StepThreads(128));
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
            FmaCalibration.OneThreadFlopsOverride = savedFlops;
        }
    }

    [Fact]
    public void One_and_two_threads_give_bitwise_equal_weights_after_20_steps()
    {
        float[] one = Train(1, 11);
        float[] two = Train(2, 11);
        Assert.True(one.AsSpan().SequenceEqual(two), "weights differ between 1 and 2 threads");
        Assert.False(one.AsSpan().SequenceEqual(Train(1, 12)), "the seed should change the result");
    }

    [Fact]
    public void Per_variable_clipping_and_weight_decay_do_not_depend_on_the_thread_count()
    {
        // The optimizer's ranges follow the threads' rows; clipping and decay must still see whole variables.
        static IOptimizer Make() => new Adam(new AdamOptions(0.01f, Amsgrad: true)) { ClipNorm = 0.5f, WeightDecay = 0.01f };
        float[] one = Train(1, 8, shape: 1, make: Make);
        foreach (int threads in new[] { 2, 3, 8 })
        {
            float[] many = Train(threads, 8, shape: 1, make: Make);
            int first = one.AsSpan().CommonPrefixLength(many);
            Assert.True(first == one.Length, $"{threads} threads: parameter {first} differs from one thread's");
        }
    }

    [Fact]
    public void Regularizers_do_not_depend_on_the_thread_count()
    {
        // The penalty is summed on the calling thread; its gradient is added element by element.
        static void Regularize(Sequential model)
        {
            foreach (Dense dense in model.Layers.OfType<Dense>())
            {
                dense.KernelRegularizer = new Regularizer(1e-4f, 1e-3f);
                dense.BiasRegularizer = Regularizer.L1(1e-3f);
            }
        }

        float[] one = Train(1, 9, shape: 1, setup: Regularize);
        Assert.False(one.AsSpan().SequenceEqual(Train(1, 9, shape: 1)), "the regularizers should change the result");
        foreach (int threads in new[] { 2, 3 })
        {
            float[] many = Train(threads, 9, shape: 1, setup: Regularize);
            int first = one.AsSpan().CommonPrefixLength(many);
            Assert.True(first == one.Length, $"{threads} threads: parameter {first} differs from one thread's");
        }
    }

    // The plain step at every ISA level (its buffers are sized by each path's tile); the variants below, which reach
    // other parts of the step on the same buffers, at the vector levels only.
    [Fact]
    public void Two_thread_training_steps_allocate_nothing_on_any_thread() => TwoThreadStepsAllocateNothing(false, false, "adam");

    [Theory]
    [Trait(IsaIndependent.Trait, IsaIndependent.Value)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    // Optimizers that read each variable before the step (row-major weights): Adafactor's first version allocated an
    // enumerator of its segment list every step.
    [InlineData(false, false, "adafactor")]
    [InlineData(false, true, "lamb")]
    public void Two_thread_training_steps_allocate_nothing_on_any_thread_in_every_variant(bool ownedColumns, bool regularized, string optimizer = "adam") =>
        TwoThreadStepsAllocateNothing(ownedColumns, regularized, optimizer);

    private static void TwoThreadStepsAllocateNothing(bool ownedColumns, bool regularized, string optimizer)
    {
        int saved = Parallelism.DegreeOfParallelism, savedColumns = PanelLayout.MinOwnedColumns;
        Sequential? ordered = null;
        try
        {
            // Large enough that every product, the reduction phase and the optimizer run on both threads.
            Parallelism.DegreeOfParallelism = 2;
            Parallelism.FmaThreadsOverride = 2;
            // Regularized, the penalty's column sums and the gradient terms run on both threads too.
            var first = new Dense(512)
            {
                KernelRegularizer = regularized ? new Regularizer(1e-5f, 1e-4f) : null,
                BiasRegularizer = regularized ? Regularizer.L2(1e-4f) : null,
            };
            var model = ownedColumns
                ? new Sequential(784, 3).Add(first).Add(new Relu()).Add(new Dense(10))
                : new Sequential(784, 3).Add(first).Add(new Relu()).Add(new Dense(256) { KernelRegularizer = regularized ? Regularizer.L2(1e-4f) : null }).Add(new Relu()).Add(new Dense(10));
            model.Compile(new SoftmaxCrossEntropy(), optimizer switch { "adafactor" => new Adafactor(), "lamb" => new Lamb(), _ => new Adam() }, 128);
            if (ownedColumns)
            {
                // As Fit's steps run: the first layer in panel order, each thread owning 256 of its columns (whole k
                // blocks of the 10-class layer's product, which the same region then computes).
                PanelLayout.MinOwnedColumns = 1;
                Assert.True(model.EnterPanelOrder());
                ordered = model;
                Assert.Equal(2, ((Dense)model.Layers[0]).PanelOrder.OwnedColumnSlices(128));
            }

            float[] x = Seeded.Uniform(128 * 784, 2);
            int[] y = [.. Enumerable.Range(0, 128).Select(i => i % 10)];

            // Warm up past tiered compilation: methods called a few times a step reach the runtime's call-count
            // threshold within the first steps (the 1,248 bytes a CI run once read on the calling thread inside the
            // measured steps were put down to that bookkeeping; more likely a collection's, see AllocationBaseline).
            // Then a pause, so that the measured steps also wake the workers from their sleep.
            for (int i = 0; i < 60; i++)
            {
                model.TrainStep(x, y, 128);
            }

            Thread.Sleep(300);

            // The exact allocation counter of each thread that runs NeuralCore code: the caller and every pool worker
            // (ThreadAllocations.During says why not GC.GetTotalAllocatedBytes).
            string allocated = ThreadAllocations.Allocated(ThreadAllocations.During(() =>
            {
                for (int i = 0; i < 20; i++)
                {
                    model.TrainStep(x, y, 128);
                }
            }));
            Assert.True(allocated.Length == 0, $"20 steps: {allocated}");
        }
        finally
        {
            ordered?.ExitPanelOrder();
            Parallelism.DegreeOfParallelism = saved;
            Parallelism.FmaThreadsOverride = 0;
            PanelLayout.MinOwnedColumns = savedColumns;
        }
    }

    [Fact]
    public void Steps_whose_items_another_thread_takes_over_allocate_nothing_and_match_one_thread()
    {
        // A worker asleep when a step starts (it blocks once it has spun for a millisecond) wakes late, and the caller,
        // done with its own items, runs the worker's last ones. Every thread must then be able to run any item without
        // allocating (a buffer made on first use by the thread that runs an item would allocate here), and the weights
        // must not depend on who ran what. Small items (784-128-10, batch 32) make such take-overs likely in each step.
        int saved = Parallelism.DegreeOfParallelism;
        float[] x = Seeded.Uniform(32 * 784, 4);
        int[] y = [.. Enumerable.Range(0, 32).Select(i => (i * 3) % 10)];
        static Sequential Make()
        {
            var model = new Sequential(784, 5).Add(new Dense(128)).Add(new Relu()).Add(new Dense(10));
            model.Compile(new SoftmaxCrossEntropy(), new Adam(), 32);
            return model;
        }

        try
        {
            Parallelism.DegreeOfParallelism = 1;
            Parallelism.FmaThreadsOverride = 1;
            Sequential one = Make();
            for (int i = 0; i < 100; i++)
            {
                one.TrainStep(x, y, 32);
            }

            Parallelism.DegreeOfParallelism = 2;
            Parallelism.FmaThreadsOverride = 2;
            Sequential two = Make();
            for (int i = 0; i < 60; i++)
            {
                two.TrainStep(x, y, 32);
            }

            Thread.Sleep(300);
            long taken = 0;
            string allocated = ThreadAllocations.Allocated(ThreadAllocations.During(() =>
            {
                long takenBefore = WorkerPool.TakenOver;
                for (int i = 0; i < 40; i++)
                {
                    Thread.Sleep(3); // the worker goes back to sleep between steps
                    two.TrainStep(x, y, 32);
                }

                taken = WorkerPool.TakenOver - takenBefore;
            }));
            Assert.True(taken > 0, "no item was taken over in 40 steps: the test did not exercise what it claims");
            Assert.True(allocated.Length == 0, $"40 steps ({taken} items taken over): {allocated}");

            float[] expected = one.Parameters.ToArray(), actual = two.Parameters.ToArray();
            int first = expected.AsSpan().CommonPrefixLength(actual);
            Assert.True(first == expected.Length, $"parameter {first} differs from one thread's ({taken} items taken over)");
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
            Parallelism.FmaThreadsOverride = 0;
        }
    }

    [Theory]
    [InlineData(1, false, 128)]
    [InlineData(1, true, 96)]
    [InlineData(0, true, 33)]
    public void Any_thread_count_gives_bitwise_equal_weights(int shape, bool sgd, int batch)
    {
        float[] one = Train(1, 5, shape, sgd, batch);
        foreach (int threads in new[] { 2, 3, 8 })
        {
            float[] many = Train(threads, 5, shape, sgd, batch);
            int first = one.AsSpan().CommonPrefixLength(many);
            Assert.True(first == one.Length, $"{threads} threads: parameter {first} differs from one thread's");
        }
    }
}

/// <summary>
/// The model runs a Dense followed by ReLU as one fused product, applies the ReLU mask inside the next Dense's
/// input-gradient product and overwrites gradients instead of zeroing them; the layers' own Forward and Backward do
/// none of that. Both must give bitwise the same outputs and gradients.
/// </summary>
[Collection(SerialTests.Name)]
public class SequentialFusionTests
{
    [Fact]
    public void A_dense_relu_activation_trains_as_the_dense_and_relu_pair()
    {
        const int batch = 24;
        float[] x = Seeded.Uniform(batch * 20, 8, scale: 2f);
        int[] y = [.. Enumerable.Range(0, batch).Select(i => i % 4)];
        var pair = new Sequential(20, seed: 5).Add(new Dense(32)).Add(new Relu()).Add(new Dense(16)).Add(new Relu()).Add(new Dense(4));
        var fused = new Sequential(20, seed: 5)
            .Add(new Dense(32, Activation.Relu)).Add(new Dense(16, Activation.Relu)).Add(new Dense(4));
        pair.Compile(new SoftmaxCrossEntropy(), new Adam());
        fused.Compile(new SoftmaxCrossEntropy(), new Adam());

        // Layers are seeded by position, which differs: start both from the same weights.
        pair.Parameters.Span.CopyTo(fused.Parameters.Span);
        for (int step = 0; step < 3; step++)
        {
            TrainStepResult a = pair.TrainStep(x, y, batch), b = fused.TrainStep(x, y, batch);
            Assert.Equal(a.Loss, b.Loss);
            Assert.Equal(pair.Gradients.ToArray(), fused.Gradients.ToArray());
        }

        Assert.Equal(pair.Parameters.ToArray(), fused.Parameters.ToArray());
    }

    [Fact]
    public void A_relu_with_options_after_a_dense_layer_is_not_fused_as_a_plain_relu()
    {
        const int batch = 6;
        float[] x = Seeded.Uniform(batch * 5, 2, scale: 3f);
        int[] y = [.. Enumerable.Range(0, batch).Select(i => i % 3)];
        var model = new Sequential(5, seed: 1).Add(new Dense(7)).Add(new Relu { MaxValue = 0.5f, NegativeSlope = 0.3f }).Add(new Dense(3));
        model.Compile(new SoftmaxCrossEntropy(), new Sgd());
        float[] output = new float[batch * 3];
        model.Infer(x, output, batch);

        float[] hidden = new float[batch * 7], capped = new float[batch * 7], expected = new float[batch * 3];
        model.Layers[0].Forward(x, hidden, batch, training: false);
        model.Layers[1].Forward(hidden, capped, batch, training: false);
        model.Layers[2].Forward(capped, expected, batch, training: false);
        Assert.Contains(capped, v => v < 0);
        Assert.Equal(expected, output);

        // Backward too: the step's gradients are those of the layers run one by one.
        model.ComputeGradients(x, y, batch);
        float[] stepGradients = model.Gradients.ToArray();
        float[] grad = new float[batch * 3], gradCapped = new float[batch * 7], gradHidden = new float[batch * 7];
        new SoftmaxCrossEntropy().Compute(expected, y, grad, batch, 3);
        model.Gradients.Span.Clear();
        model.Layers[2].Backward(capped, expected, grad, gradCapped, batch);
        model.Layers[1].Backward(hidden, capped, gradCapped, gradHidden, batch);
        model.Layers[0].Backward(x, hidden, gradHidden, [], batch);
        Assert.Equal(model.Gradients.ToArray(), stepGradients);
    }

    // With one hidden layer under a 10-class output, the first layer's weight gradient also computes the output
    // layer's input gradient while packing it (Dense.BackwardThroughRelu); with two, the usual masked product.
    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(1, true)]
    [InlineData(2, true)]
    public void Fused_step_equals_the_layers_run_one_by_one(int threads, bool oneHiddenLayer)
    {
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            Parallelism.DegreeOfParallelism = threads;
            Parallelism.FmaThreadsOverride = threads;
            // 100 inputs: the first layer computes a 10-unit layer's input gradient itself only where each thread's
            // repeat of it is at most a quarter of its share of the weight gradient (Dense.CanTakeGradientThrough).
            const int batch = 40, inputs = 100;
            var model = new Sequential(inputs, seed: 3).Add(new Dense(64)).Add(new Relu());
            if (!oneHiddenLayer)
            {
                model.Add(new Dense(48)).Add(new Relu());
            }

            model.Add(new Dense(10));
            model.Compile(new SoftmaxCrossEntropy(), new Sgd());
            float[] x = Seeded.Uniform(batch * inputs, 4, scale: 3f);
            int[] y = [.. Enumerable.Range(0, batch).Select(i => i % 10)];

            // Dirty gradients: the model must overwrite, not add to, what a previous step left.
            model.Gradients.Span.Fill(123f);
            TrainStepResult result = model.ComputeGradients(x, y, batch);
            float[] fused = model.Gradients.ToArray();

            // The same step through the public layer API.
            var layers = model.Layers;
            var activations = new List<float[]>();
            ReadOnlySpan<float> input = x;
            foreach (ILayer layer in layers)
            {
                float[] output = new float[batch * layer.OutputSize];
                layer.Forward(input, output, batch, training: true);
                activations.Add(output);
                input = output;
            }

            float[] grad = new float[batch * 10];
            double loss = new SoftmaxCrossEntropy().Compute(activations[^1], y, grad, batch, 10);
            Assert.Equal(loss, result.Loss);
            model.Gradients.Span.Clear();
            for (int i = layers.Count - 1; i >= 0; i--)
            {
                float[] inputGrad = i == 0 ? [] : new float[batch * layers[i].InputSize];
                layers[i].Backward(i == 0 ? x : activations[i - 1], activations[i], grad, inputGrad, batch);
                grad = inputGrad;
            }

            float[] separate = model.Gradients.ToArray();
            int first = fused.AsSpan().CommonPrefixLength(separate);
            Assert.True(first == fused.Length, $"gradient {first} differs: fused {(first < fused.Length ? fused[first] : 0):R}, separate {(first < fused.Length ? separate[first] : 0):R}");

            // Inference takes the fused path too.
            float[] logits = new float[batch * 10];
            model.Infer(x, logits, batch);
            float[] eval = new float[batch * 10];
            input = x;
            foreach (ILayer layer in layers)
            {
                float[] output = new float[batch * layer.OutputSize];
                layer.Forward(input, output, batch, training: false);
                input = output;
                eval = output;
            }

            Assert.True(logits.AsSpan().SequenceEqual(eval), "fused inference differs from the layers run one by one");
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
            Parallelism.FmaThreadsOverride = 0;
        }
    }
}
