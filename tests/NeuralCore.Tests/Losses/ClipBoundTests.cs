using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;

namespace NeuralCore.Tests.Losses;

/// <summary>
/// The losses that read probabilities clip them to [ε, 1 - ε] as Keras does, and TensorFlow's <c>clip_by_value</c> and
/// PyTorch's <c>clamp</c> pass the gradient at the bounds themselves and stop it only strictly outside. A sigmoid of a
/// logit of 16 or more rounds to the upper bound in float, so a model sure of the wrong answer must still learn.
/// </summary>
public class ClipBoundTests
{
    private const float Epsilon = 1e-7f;
    private const float Upper = 1f - Epsilon; // 0.99999988f: 1 - Upper is 2^-23 exactly

    private static float Gradient(Loss loss, float output, float target)
    {
        var grad = new float[1];
        loss.Compute([output], LossTargets.FromValues([target]), grad, 1, 1);
        return grad[0];
    }

    [Fact]
    public void Binary_crossentropy_passes_the_gradient_at_both_bounds_and_stops_it_outside()
    {
        var loss = new BinaryCrossentropy();
        Assert.Equal(8388608f, Gradient(loss, Upper, 0f)); // (1 - t)/(1 - p) = 2^23
        Assert.Equal(-1f / Epsilon, Gradient(loss, Epsilon, 1f), 1e-6f * (1f / Epsilon));
        Assert.Equal(0f, Gradient(loss, MathF.BitIncrement(Upper), 0f));
        Assert.Equal(0f, Gradient(loss, MathF.BitDecrement(Epsilon), 1f));
        Assert.Equal(0f, Gradient(loss, 1f, 0f));
        Assert.Equal(0f, Gradient(loss, 0f, 1f));
    }

    [Fact]
    public void Binary_focal_crossentropy_passes_the_gradient_at_the_bound()
    {
        // γ = 0 and no balancing: the plain binary cross-entropy.
        var focal = new BinaryFocalCrossentropy(gamma: 0f);
        Assert.Equal(8388608f, Gradient(focal, Upper, 0f), 1f);
        Assert.Equal(0f, Gradient(focal, MathF.BitIncrement(Upper), 0f));
    }

    [Fact]
    public void Categorical_crossentropy_passes_the_gradient_of_a_class_at_the_lower_bound()
    {
        // p = o / Σo: three outputs whose sum is 1 exactly in double, so the true class's p is exactly ε and keeps
        // its -t/p term.
        float a = Epsilon, b = 1f - (3f / (1 << 24));
        float c = (float)((3.0 / (1 << 24)) - Epsilon);
        Assert.Equal(1.0, (double)a + b + c);
        var grad = new float[3];
        new CategoricalCrossentropy().Compute([a, b, c], [0], grad, 1, 3);
        Assert.True(grad[0] < -1e6f, $"∂l/∂o_0 = {grad[0]}: the clip stopped the gradient at its bound");

        var below = new float[2];
        new CategoricalCrossentropy().Compute([Epsilon / 4, 1f - (Epsilon / 4)], [0], below, 1, 2);
        Assert.True(Math.Abs(below[0]) < 10, $"∂l/∂o_0 = {below[0]}: below the bound the term is clipped away");
    }

    [Fact]
    public void Kl_divergence_passes_the_gradient_at_the_lower_bound()
    {
        var grad = new float[2];
        new KLDivergence().Compute([Epsilon, 1f - Epsilon], [0], grad, 1, 2);
        Assert.True(grad[0] < -1e6f, $"∂l/∂p_0 = {grad[0]}");

        new KLDivergence().Compute([Epsilon / 4, 1f - (Epsilon / 4)], [0], grad, 1, 2);
        Assert.Equal(0f, grad[0]);
    }

    [Fact]
    public void A_sigmoid_model_sure_of_the_wrong_class_still_learns()
    {
        // Logit 16: σ(16) = 1 - 1.1e-7 rounds to the clip's upper bound. Keras and PyTorch move the weight by
        // lr·(∂l/∂p)·σ'·x = 0.1 · 2^23 · (2^-23 · Upper) · 1 ≈ 0.1; a gradient stopped at the bound leaves it at 16.
        var model = new Sequential(1, seed: 1).Add(new Dense(1)).Add(new Sigmoid());
        model.Compile(new BinaryCrossentropy(), new Sgd(0.1f));
        var dense = (Dense)model.Layers[0];
        dense.Weights.Span[0] = 16f;
        dense.Bias.Span[0] = 0f;
        float[] x = [1f];
        Assert.Equal(Upper, model.Predict(x)[0]);

        model.TrainStep(x, LossTargets.FromValues([0f]), 1);
        Assert.Equal(15.9f, dense.Weights.Span[0], 1e-3f);
        Assert.Equal(-0.1f, dense.Bias.Span[0], 1e-3f);
    }
}
