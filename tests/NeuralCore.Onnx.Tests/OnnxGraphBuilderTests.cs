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
}
