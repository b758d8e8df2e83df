using NeuralCore.Layers;
using NeuralCore.Tests.Kernels;

namespace NeuralCore.Tests.Layers;

/// <summary>The contract every layer passes: sizes, parameter count, pure forward, accumulating backward.</summary>
public class LayerContractTests
{
    private const int Inputs = 7, Outputs = 5, Batch = 3;

    [Theory]
    [MemberData(nameof(LayerFactory.Names), MemberType = typeof(LayerFactory))]
    public void Sizes_and_parameter_storage_are_consistent(string name)
    {
        ILayer layer = LayerFactory.Create(name, Inputs, Outputs, 1);
        Assert.True(layer.IsBuilt);
        Assert.Equal(Inputs, layer.InputSize);
        Assert.Equal(name == "dense" ? Outputs : Inputs, layer.OutputSize);
        Assert.Equal(name == "dense" ? (Inputs * Outputs) + Outputs : 0, layer.ParameterCount);
        Assert.Equal(layer.ParameterCount, layer.Parameters.Length);
        Assert.Equal(layer.ParameterCount, layer.Gradients.Length);
    }

    [Theory]
    [MemberData(nameof(LayerFactory.Names), MemberType = typeof(LayerFactory))]
    public void Forward_leaves_its_input_untouched(string name)
    {
        ILayer layer = LayerFactory.Create(name, Inputs, Outputs, 1);
        float[] input = Seeded.Uniform(Batch * Inputs, 2);
        float[] copy = (float[])input.Clone();
        float[] output = new float[Batch * layer.OutputSize];
        layer.Forward(input, output, Batch, training: true);
        Assert.Equal(copy, input);
        layer.Forward(input, output, Batch, training: false);
        Assert.Equal(copy, input);
    }

    [Theory]
    [MemberData(nameof(LayerFactory.Names), MemberType = typeof(LayerFactory))]
    public void Two_backward_passes_double_the_parameter_gradients_and_overwrite_the_input_gradient(string name)
    {
        ILayer layer = LayerFactory.Create(name, Inputs, Outputs, 1);
        float[] input = Seeded.Uniform(Batch * Inputs, 2);
        float[] output = new float[Batch * layer.OutputSize];
        float[] outputGrad = Seeded.Uniform(Batch * layer.OutputSize, 3);
        layer.Forward(input, output, Batch, training: true);

        layer.Gradients.Span.Clear();
        float[] first = Enumerable.Repeat(99f, Batch * Inputs).ToArray();
        layer.Backward(input, output, outputGrad, first, Batch);
        float[] once = layer.Gradients.ToArray();
        float[] second = Enumerable.Repeat(-7f, Batch * Inputs).ToArray();
        layer.Backward(input, output, outputGrad, second, Batch);

        Assert.Equal(first, second);
        float[] twice = layer.Gradients.ToArray();
        for (int i = 0; i < once.Length; i++)
        {
            Assert.Equal(2 * once[i], twice[i], 1e-5f * Math.Max(1f, Math.Abs(twice[i])));
        }
    }

    [Theory]
    [MemberData(nameof(LayerFactory.Names), MemberType = typeof(LayerFactory))]
    public void Short_buffers_are_rejected_with_the_shape(string name)
    {
        ILayer layer = LayerFactory.Create(name, Inputs, Outputs, 1);
        var ex = Assert.Throws<ArgumentException>(() =>
            layer.Forward(new float[(Batch * Inputs) - 1], new float[Batch * layer.OutputSize], Batch, training: false));
        Assert.Equal("input", ex.ParamName);
        Assert.Contains($"[batch={Batch}, {Inputs}]", ex.Message, StringComparison.Ordinal);
        var outEx = Assert.Throws<ArgumentException>(() =>
            layer.Forward(new float[Batch * Inputs], new float[1], Batch, training: false));
        Assert.Equal("output", outEx.ParamName);
    }

    [Theory]
    [MemberData(nameof(LayerFactory.Names), MemberType = typeof(LayerFactory))]
    public void Batch_zero_is_a_no_op(string name)
    {
        ILayer layer = LayerFactory.Create(name, Inputs, Outputs, 1);
        layer.Forward([], [], 0, training: true);
        layer.Backward([], [], [], [], 0);
        Assert.All(layer.Gradients.ToArray(), g => Assert.Equal(0f, g));
    }
}
