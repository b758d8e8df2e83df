using NeuralCore.Layers;
using NeuralCore.Models;

namespace NeuralCore.Tests.Layers;

public class RescalingTests
{
    [Fact]
    public void Forward_is_a_rounded_product_then_a_rounded_sum_and_backward_the_scaled_gradient()
    {
        var layer = new Rescaling(1f / 127.5f, offset: -1f);
        layer.Build(4, 0);
        float[] input = [0f, 127.5f, 255f, 3f], output = new float[4], gradient = new float[4];
        layer.Forward(input, output, 1, training: true);
        for (int i = 0; i < input.Length; i++)
        {
            // Keras's float32 x * scale + offset, each operation rounded.
            Assert.Equal((input[i] * (1f / 127.5f)) + -1f, output[i]);
        }

        Assert.Equal([-1f, 0f, 1f], output[..3]);
        layer.Backward(input, output, [1f, -2f, 0.5f, 4f], gradient, 1);
        Assert.Equal([1f / 127.5f, -2f / 127.5f, 0.5f / 127.5f, 4f / 127.5f], gradient);
    }

    [Theory]
    [InlineData(float.NaN, 0f, "scale")]
    [InlineData(1f, float.PositiveInfinity, "offset")]
    public void A_scale_or_offset_that_is_not_finite_is_refused_by_name(float scale, float offset, string name)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Rescaling(scale, offset));
        Assert.Equal(name, e.ParamName);
    }

    [Fact]
    public void A_model_in_front_of_raw_pixels_predicts_what_one_fed_scaled_pixels_does()
    {
        var raw = new Sequential(3, seed: 5).Add(new Rescaling(1f / 255)).Add(new Dense(2));
        var scaled = new Sequential(3, seed: 5).Add(new Dense(2));
        raw.Layers[1].Parameters.CopyTo(scaled.Layers[0].Parameters);
        float[] pixels = [0f, 128f, 255f], predictions = raw.Predict(pixels);
        float[] expected = scaled.Predict([.. pixels.Select(p => p * (1f / 255))]);
        Assert.Equal(expected, predictions);
        Assert.Equal(0, raw.Layers[0].ParameterCount);
    }
}
