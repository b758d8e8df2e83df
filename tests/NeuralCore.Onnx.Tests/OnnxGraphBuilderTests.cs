using NeuralCore.Onnx.Schema;

namespace NeuralCore.Onnx.Tests;

public class OnnxGraphBuilderTests
{
    [Fact]
    public void AddNode_names_a_null_attribute_and_its_index()
    {
        // A null attribute threw a NullReferenceException from inside the loop.
        var graph = new GraphProto();
        var builder = new OnnxGraphBuilder(graph);
        var e = Assert.Throws<ArgumentException>(() => builder.AddNode("LeakyRelu", "act", ["x"], OnnxAttributeValue.Of("alpha", 0.1f), null!));
        Assert.Equal("attributes", e.ParamName);
        Assert.Contains("attributes[1] is null", e.Message, StringComparison.Ordinal);
        Assert.Empty(graph.Node);

        // Refused before the name was taken: the next node gets the hint itself.
        Assert.Equal("act", builder.AddNode("Relu", "act", ["x"]));
    }

    [Theory]
    [InlineData(OnnxExport.Opset - 1)]
    [InlineData(OnnxExport.MaxOpset + 1)]
    public void RequireOpset_names_a_version_outside_the_written_range(int version)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new OnnxGraphBuilder(new GraphProto()).RequireOpset(version));
        Assert.Equal("version", e.ParamName);
        Assert.Contains($"in [{OnnxExport.Opset}, {OnnxExport.MaxOpset}]. Received: version={version}.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddInitializer_names_a_null_or_empty_hint()
    {
        // Found by the public-API fuzzer: a null hint came back as "Value cannot be null. (Parameter 'name')".
        var builder = new OnnxGraphBuilder(new GraphProto());
        Assert.Equal("hint", Assert.Throws<ArgumentNullException>(() => builder.AddInitializer(null!, [1f], 1)).ParamName);
        Assert.Equal("hint", Assert.Throws<ArgumentException>(() => builder.AddScalar("", 1f)).ParamName);
        Assert.Equal("w", builder.AddInitializer("w", [1f, 2f], 2));
    }

    [Fact]
    public void AddNode_names_a_null_input_and_its_index()
    {
        // A null input name came back from protobuf as "Sequence contained null element (Parameter 'values')".
        var graph = new GraphProto();
        var builder = new OnnxGraphBuilder(graph);
        var e = Assert.Throws<ArgumentException>(() => builder.AddNode("Add", "sum", ["x", null!]));
        Assert.Equal("inputs", e.ParamName);
        Assert.Contains("inputs[1] is null", e.Message, StringComparison.Ordinal);
        Assert.Empty(graph.Node);
        Assert.Equal("sum", builder.AddNode("Add", "sum", ["x", "y"]));
        Assert.Equal(["x", "y"], graph.Node.Single().Input);
    }
    [Fact]
    public void AddNode_names_an_attribute_without_a_name_or_a_value_before_taking_the_node_name()
    {
        // A null name failed inside protobuf's setter; a value-less attribute was refused after the name was taken.
        var graph = new GraphProto();
        var builder = new OnnxGraphBuilder(graph);
        var unnamed = Assert.Throws<ArgumentException>(() => builder.AddNode("LeakyRelu", "act", ["x"], new OnnxAttributeValue(null!, FloatValue: 0.1f)));
        Assert.Contains("attributes[0] of LeakyRelu has no name", unnamed.Message, StringComparison.Ordinal);
        var empty = Assert.Throws<ArgumentException>(() => builder.AddNode("LeakyRelu", "act", ["x"], new OnnxAttributeValue("alpha")));
        Assert.Contains("The attribute 'alpha' of LeakyRelu has no value", empty.Message, StringComparison.Ordinal);
        Assert.Empty(graph.Node);
        Assert.Equal("act", builder.AddNode("LeakyRelu", "act", ["x"], OnnxAttributeValue.Of("alpha", 0.1f)));
    }
}
