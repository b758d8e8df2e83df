using NeuralCore.Layers;
using NeuralCore.Models;
using NeuralCore.Tests.Kernels;

namespace NeuralCore.Tests.Layers;

public class LayerBehaviourTests
{
    [Fact]
    public void Dense_starts_glorot_uniform_with_zero_bias()
    {
        var dense = new Dense(784, 128, 7);
        float limit = MathF.Sqrt(6f / (784 + 128));
        float[] w = dense.Weights.ToArray();
        Assert.All(w, v => Assert.InRange(v, -limit, limit));
        Assert.All(dense.Bias.ToArray(), v => Assert.Equal(0f, v));

        // Uniform on [-limit, limit]: mean 0, variance limit²/3.
        double mean = w.Average(v => (double)v);
        double variance = w.Average(v => ((double)v - mean) * (v - mean));
        Assert.InRange(mean, -0.01 * limit, 0.01 * limit);
        Assert.InRange(variance, 0.97 * limit * limit / 3, 1.03 * limit * limit / 3);
    }

    [Fact]
    public void Dense_seed_fixes_the_initialization()
    {
        Assert.Equal(new Dense(10, 4, 3).Parameters.ToArray(), new Dense(10, 4, 3).Parameters.ToArray());
        Assert.NotEqual(new Dense(10, 4, 3).Parameters.ToArray(), new Dense(10, 4, 4).Parameters.ToArray());
    }

    [Fact]
    public void Dense_forward_is_x_times_w_plus_b()
    {
        var dense = new Dense(2, 3, 0);
        float[] p = [1, 2, 3, 4, 5, 6, 0.5f, -0.5f, 1];
        p.CopyTo(dense.Parameters.Span);
        float[] y = new float[6];
        dense.Forward([1, 1, 2, -1], y, 2, training: false);
        Assert.Equal([5.5f, 6.5f, 10f, -1.5f, -1.5f, 1f], y);
    }

    [Fact]
    public void Layer_options_are_validated_with_the_value()
    {
        var units = Assert.Throws<ArgumentOutOfRangeException>(() => new Dense(0));
        Assert.Contains("units=0", units.Message, StringComparison.Ordinal);
        var rate = Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1f));
        Assert.Contains("rate=1", rate.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(float.NaN));
        Assert.Throws<InvalidOperationException>(() => new Dense(3).Forward(new float[3], new float[3], 1, false));

        // A cap below the threshold: Keras's code, its formula and the ONNX export each read [MaxValue, Threshold)
        // differently, so no such layer is built, in a model or alone; a cap at the threshold is one step and agrees.
        var cap = Assert.Throws<ArgumentOutOfRangeException>(() => new Relu("capped") { Threshold = 1f, MaxValue = 0.5f });
        Assert.Contains("'capped': max_value (0.5) is below threshold (1)", cap.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Relu(3) { MaxValue = 0.5f, Threshold = 1f });
        var step = new Sequential(1).Add(new Relu { Threshold = 1f, MaxValue = 1f, NegativeSlope = 0.5f });
        Assert.Equal([-0.25f, 1f, 1f], [step.Predict([0.5f])[0], step.Predict([1f])[0], step.Predict([7f])[0]]);
    }

    [Fact]
    public void A_dense_layer_too_large_for_an_array_is_rejected_with_its_size()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Dense(65536, 65536, 1));
        Assert.Contains("65536 inputs and 65536 units", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_view_of_the_weights_taken_before_compile_throws_instead_of_going_stale()
    {
        // Fix 6e: the view used to keep answering with the layer's old array, which training no longer touched.
        var dense = new Dense(3, 2, seed: 1);
        Memory<float> before = dense.Weights;
        float first = before.Span[0];
        var model = new NeuralCore.Models.Sequential(3).Add(dense);
        model.Compile(new NeuralCore.Losses.MeanSquaredError(), new NeuralCore.Optimizers.Sgd());
        var ex = Assert.Throws<InvalidOperationException>(() => before.Span[0] = 5f);
        Assert.Contains("Read layer.Parameters (or Weights, Bias, Gradients) again after Compile", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => before.Pin());

        // A view read after Compile is the arena's, and stays valid.
        Memory<float> after = dense.Weights;
        Assert.Equal(first, after.Span[0]);
        after.Span[0] = 5f;
        Assert.Equal(5f, model.Parameters.Span[0]);
    }

    [Fact]
    public void A_layer_belongs_to_one_model()
    {
        var shared = new NeuralCore.Layers.Dense(4);
        new NeuralCore.Models.Sequential(3).Add(shared);
        var ex = Assert.Throws<ArgumentException>(() => new NeuralCore.Models.Sequential(3).Add(shared));
        Assert.Contains("another model", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dropout_is_identity_at_inference_and_inverted_in_training()
    {
        var dropout = new Dropout(10_000, 0.25f, 5);
        float[] x = Enumerable.Repeat(2f, 10_000).ToArray();
        float[] y = new float[10_000];
        dropout.Forward(x, y, 1, training: false);
        Assert.Equal(x, y);

        dropout.Forward(x, y, 1, training: true);
        int dropped = y.Count(v => v == 0f);
        Assert.All(y, v => Assert.True(v == 0f || Math.Abs(v - (2f / 0.75f)) < 1e-6));
        Assert.InRange(dropped, 2300, 2700);
    }

    [Fact]
    public void Dropout_masks_follow_the_seed()
    {
        float[] Mask(ulong seed)
        {
            var d = new Dropout(64, 0.5f, seed);
            float[] y = new float[64];
            d.Forward(Enumerable.Repeat(1f, 64).ToArray(), y, 1, training: true);
            return y;
        }

        Assert.Equal(Mask(1), Mask(1));
        Assert.NotEqual(Mask(1), Mask(2));
    }

    [Fact]
    public void Softmax_layer_outputs_rows_that_sum_to_one()
    {
        var softmax = new Softmax(10);
        float[] y = new float[30];
        softmax.Forward(Seeded.Uniform(30, 1, 50f), y, 3, training: false);
        for (int r = 0; r < 3; r++)
        {
            Assert.Equal(1.0, y.Skip(r * 10).Take(10).Sum(v => (double)v), 1e-6);
        }
    }
}
