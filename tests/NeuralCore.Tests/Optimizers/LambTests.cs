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
            try
            {
                var model = new Sequential(4, seed: 3).Add(new Dense(256)).Add(new Relu()).Add(new Dense(3));
                model.Compile(new SoftmaxCrossEntropy(), new Lamb(0.01f) { WeightDecay = 0.01f });
                History history = model.Fit(x, y, new FitOptions { Epochs = 8, BatchSize = 32, Seed = 5 });
                Assert.True(history.Accuracy[^1] > 0.95, $"{threads} threads: accuracy {history.Accuracy[^1]}");
                first ??= model.Parameters.ToArray();
                Assert.Equal(first, model.Parameters.ToArray());
            }
            finally
            {
                Parallelism.DegreeOfParallelism = saved;
            }
        }
    }

    // Three separated clusters in four features.
    private static (float[] X, int[] Y) Blobs()
    {
        var random = new Random(7);
        float[] x = new float[300 * 4];
        int[] y = new int[300];
        for (int i = 0; i < 300; i++)
        {
            y[i] = i % 3;
            for (int j = 0; j < 4; j++)
            {
                x[(i * 4) + j] = (j == y[i] ? 2f : 0f) + (float)((random.NextDouble() * 2) - 1) * 0.5f;
            }
        }

        return (x, y);
    }
}
