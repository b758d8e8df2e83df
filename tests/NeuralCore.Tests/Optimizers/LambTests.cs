using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Threading;
using NeuralCore.Training;

namespace NeuralCore.Tests.Optimizers;

/// <summary>
/// <see cref="Lamb"/> beyond Keras's one-variable golden values (<see cref="KerasOptimizerTests"/>): each variable's own
/// trust ratio, the fallback to 1, the decayed and clipped inputs of the ratio, and training on any thread count.
/// </summary>
[Collection(SerialTests.Name)]
public class LambTests
{
    [Fact]
    public void Each_variable_gets_its_own_trust_ratio_and_a_zero_norm_gives_ratio_one()
    {
        // A kernel of 4 and a bias of 2 that starts at zero (‖θ‖ = 0: ratio 1, Keras's where()).
        float[] theta = [0.5f, -1.5f, 2f, 0f, 0f, 0f];
        float[] g = [0.1f, -0.3f, 1f, -0.05f, 0.2f, -0.4f];
        var lamb = new Lamb(new LambOptions(0.01f));
        lamb.Initialize(6, [new ParameterSegment("k", 0, 4, ParameterRole.Weight), new ParameterSegment("b", 4, 2, ParameterRole.Bias)]);
        float[] updated = (float[])theta.Clone();
        lamb.Update(updated, g);

        // Step 1 in double: m = 0.1g, v = 0.001g², u = (m/0.1) / (√(v/0.001) + ε) = g / (|g| + ε).
        double[] u = [.. g.Select(x => x / (Math.Abs((double)x) + 1e-7))];
        double ratioKernel = Math.Sqrt(theta.Take(4).Sum(x => (double)x * x)) / Math.Sqrt(u.Take(4).Sum(x => x * x));
        for (int i = 0; i < 6; i++)
        {
            double expected = theta[i] - ((i < 4 ? ratioKernel : 1.0) * 0.01 * u[i]);
            Assert.True(Math.Abs(expected - updated[i]) < 1e-6, $"element {i}: {updated[i]:G9}, expected {expected:G9}");
        }
    }

    [Fact]
    public void The_ratio_reads_the_decayed_weights_and_the_clipped_gradients()
    {
        float[] theta = [0.5f, -1.5f, 2f, 0.25f];
        float[] g = [3f, -4f, 0f, 12f];

        // clipnorm: the same bits as the gradient scaled by the clip's factor beforehand (‖g‖ = 13 → factor 1/13).
        var clipped = new Lamb(0.01f) { ClipNorm = 1f };
        var prescaled = new Lamb(0.01f);
        clipped.Initialize(4);
        prescaled.Initialize(4);
        float[] a = (float[])theta.Clone(), b = (float[])theta.Clone();
        float scale = (float)(1.0 / 13.0);
        for (int step = 0; step < 3; step++)
        {
            clipped.Update(a, g);
            prescaled.Update(b, [.. g.Select(x => x * scale)]);
        }

        Assert.Equal(b, a);

        // Decoupled weight decay first (θ - θ·wd·lr), then the step with the ratio of the decayed weights.
        var decayed = new Lamb(0.1f) { WeightDecay = 0.5f };
        decayed.Initialize(4);
        float[] c = (float[])theta.Clone();
        decayed.Update(c, g);
        double[] shrunk = [.. theta.Select(x => x - (x * (0.5f * 0.1f)))];
        double[] u = [.. g.Select(x => x / (Math.Abs((double)x) + 1e-7))];
        double ratio = Math.Sqrt(shrunk.Sum(x => x * x)) / Math.Sqrt(u.Sum(x => x * x));
        for (int i = 0; i < 4; i++)
        {
            double expected = shrunk[i] - (ratio * 0.1 * u[i]);
            Assert.True(Math.Abs(expected - c[i]) < 1e-6, $"element {i}: {c[i]:G9}, expected {expected:G9}");
        }
    }

    [Fact]
    public void A_model_trains_with_lamb_to_the_same_bits_on_any_thread_count()
    {
        var (x, y) = Blobs();
        float[]? first = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            int saved = Parallelism.DegreeOfParallelism;
            Parallelism.DegreeOfParallelism = threads;
            Parallelism.FmaThreadsOverride = threads;
            try
            {
                var model = new Sequential(Features, seed: 3).Add(new Dense(512)).Add(new Relu()).Add(new Dense(3));
                model.Compile(new SoftmaxCrossEntropy(), new Lamb(0.01f) { WeightDecay = 0.01f });
                Assert.Equal(threads, model.StepThreads(100));
                History history = model.Fit(x, y, new FitOptions { Epochs = 4, BatchSize = 100, Seed = 5, MeasureStepThreads = false });
                Assert.True(history.Accuracy[^1] > 0.95, $"{threads} threads: accuracy {history.Accuracy[^1]}");
                first ??= model.Parameters.ToArray();
                Assert.Equal(first, model.Parameters.ToArray());
            }
            finally
            {
                Parallelism.DegreeOfParallelism = saved;
                Parallelism.FmaThreadsOverride = 0;
            }
        }
    }

    [Theory]
    [InlineData("clipnorm")]
    [InlineData("global_clipnorm")]
    [InlineData("clipvalue")]
    public void A_two_thread_step_that_starts_clipping_after_warm_up_allocates_nothing(string clipping)
    {
        // The norms read whole variables on the calling thread: the clipped copy's buffer was sized by each thread's
        // share of the update, and the first step that clipped allocated a whole variable (1.6 MB at 784 x 512).
        int saved = Parallelism.DegreeOfParallelism;
        Parallelism.DegreeOfParallelism = 2;
        Parallelism.FmaThreadsOverride = 2;
        try
        {
            Optimizer.ReleaseClipBuffer();
            Lamb lamb = clipping switch
            {
                "clipnorm" => new Lamb(1e-3f) { ClipNorm = 1f },
                "global_clipnorm" => new Lamb(1e-3f) { GlobalClipNorm = 1f },
                _ => new Lamb(1e-3f) { ClipValue = 1f },
            };
            var model = new Sequential(Features, seed: 3).Add(new Dense(512)).Add(new Relu()).Add(new Dense(3));
            model.Compile(new SoftmaxCrossEntropy(), lamb);
            Assert.Equal(2, model.StepThreads(100));
            var (x, y) = Blobs();
            float[] quiet = [.. x.Take(100 * Features).Select(v => v * 1e-6f)], loud = [.. x.Take(100 * Features).Select(v => v * 1e4f)];
            int[] labels = y[..100];
            for (int i = 0; i < 20; i++)
            {
                model.TrainStep(quiet, labels, 100);
            }

            // Every thread's allocations: the step's products run on the worker too (the calling thread's alone missed them).
            string allocated = ThreadAllocations.Allocated(ThreadAllocations.During(() =>
            {
                for (int i = 0; i < 3; i++)
                {
                    model.TrainStep(loud, labels, 100);
                }
            }));
            Assert.True(allocated.Length == 0, $"three clipped steps: {allocated}");
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
            Parallelism.FmaThreadsOverride = 0;
        }
    }

    [Fact]
    public void Updates_whose_squares_underflow_give_ratio_one_as_in_keras()
    {
        // A tiny first moment against a large second one: u ≈ 1e-31, whose square underflows in float (Keras's sum is
        // 0 and its ratio 1), where the double sum gave a ratio of about 1e45 and wrote -∞ and NaN.
        var lamb = new Lamb(1e-3f);
        lamb.Initialize(2);
        lamb.State.Span[0] = 1e-29f;
        lamb.State.Span[2] = 1e4f;
        float[] theta = [1e15f, 5f];
        lamb.Update(theta, [0f, 0f]);
        Assert.All(theta, t => Assert.True(float.IsFinite(t), $"θ = {t}"));
        Assert.Equal(5f, theta[1]);
    }

    private const int Features = 64;

    // Three separated clusters in 64 features, 300 samples.
    private static (float[] X, int[] Y) Blobs()
    {
        var random = new Random(7);
        float[] x = new float[300 * Features];
        int[] y = new int[300];
        for (int i = 0; i < 300; i++)
        {
            y[i] = i % 3;
            for (int j = 0; j < Features; j++)
            {
                x[(i * Features) + j] = (j % 3 == y[i] ? 1f : 0f) + (float)((random.NextDouble() * 2) - 1) * 0.5f;
            }
        }

        return (x, y);
    }
}
