using Google.Protobuf;
using NeuralCore.Configuration;
using NeuralCore.Onnx.Schema;

namespace NeuralCore.Onnx;

/// <summary>An attribute of an ONNX node: a float, an integer or a list of integers.</summary>
/// <param name="Name">The attribute's name in the operator's definition (<c>alpha</c>, <c>axis</c>, <c>transB</c>, …).</param>
/// <param name="FloatValue">The value when the attribute is a float.</param>
/// <param name="IntValue">The value when the attribute is an integer.</param>
public sealed record OnnxAttributeValue(string Name, float? FloatValue = null, long? IntValue = null)
{
    /// <summary>A float attribute.</summary>
    /// <param name="name">The name.</param>
    /// <param name="value">The value.</param>
    /// <returns>The attribute.</returns>
    public static OnnxAttributeValue Of(string name, float value) => new(name, FloatValue: value);

    /// <summary>An integer attribute.</summary>
    /// <param name="name">The name.</param>
    /// <param name="value">The value.</param>
    /// <returns>The attribute.</returns>
    public static OnnxAttributeValue Of(string name, long value) => new(name, IntValue: value);
}

/// <summary>
/// Builds the ONNX graph of one model, layer after layer: each layer's exporter adds nodes and initializers (weights,
/// constants) that read the tensor its input names and returns the name of the tensor it produces. Every tensor is
/// <c>float</c> and shaped <c>[batch, features]</c> unless an initializer says otherwise.
/// </summary>
public sealed class OnnxGraphBuilder
{
    private readonly GraphProto _graph;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    internal OnnxGraphBuilder(GraphProto graph) => _graph = graph;

    /// <summary>
    /// The operator set the graph needs: <see cref="OnnxExport.Opset"/>, or a later one that an exporter asked for
    /// (<see cref="RequireOpset"/>), which the model then declares.
    /// </summary>
    public int Opset { get; private set; } = OnnxExport.Opset;

    /// <summary>
    /// Declares that a node uses an operator (or a form of one) from operator set <paramref name="version"/> or later:
    /// the model is written with the highest version asked for. ONNX operators keep their meaning across versions
    /// unless a later version redefines them, which none of the library's exporters' operators does up to 17.
    /// </summary>
    /// <param name="version">The operator set version, from <see cref="OnnxExport.Opset"/> to <see cref="OnnxExport.MaxOpset"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="version"/> is outside that range.</exception>
    public void RequireOpset(int version)
    {
        Check.InRange(version, OnnxExport.Opset, OnnxExport.MaxOpset, nameof(version), "an opset version NeuralCore writes");
        Opset = Math.Max(Opset, version);
    }

    /// <summary>
    /// A tensor name not used before in the graph, made from <paramref name="hint"/> (a layer's name and a suffix):
    /// the hint itself, or the hint with <c>_2</c>, <c>_3</c>, … appended.
    /// </summary>
    /// <param name="hint">The preferred name; not empty.</param>
    /// <returns>The unique name, now taken.</returns>
    /// <exception cref="ArgumentException"><paramref name="hint"/> is null or empty.</exception>
    public string UniqueName(string hint)
    {
        ArgumentException.ThrowIfNullOrEmpty(hint);
        string name = hint;
        for (int i = 2; !_names.Add(name); i++)
        {
            name = $"{hint}_{i}";
        }

        return name;
    }

    /// <summary>Adds a float initializer (a weight or a constant) of shape <paramref name="dims"/>.</summary>
    /// <param name="hint">The name to make unique.</param>
    /// <param name="values">The values, row-major; as many as the shape holds.</param>
    /// <param name="dims">The shape; empty for a scalar.</param>
    /// <returns>The initializer's name.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="dims"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="hint"/> is null or empty, the values do not fill the shape, or a dimension is negative.</exception>
    public string AddInitializer(string hint, ReadOnlySpan<float> values, params long[] dims)
    {
        // Before the dimensions' message, which prints it: a null hint reached protobuf, whose exception named 'name'.
        ArgumentException.ThrowIfNullOrEmpty(hint);
        ArgumentNullException.ThrowIfNull(dims);
        long count = 1;
        foreach (long d in dims)
        {
            if (d < 0)
            {
                throw new ArgumentException($"A dimension of the initializer '{Names.Printable(hint)}' is negative: [{string.Join(", ", dims)}].", nameof(dims));
            }

            count *= d;
        }

        if (count != values.Length)
        {
            throw new ArgumentException($"The initializer '{Names.Printable(hint)}' of shape [{string.Join(", ", dims)}] needs {count} values; got {values.Length}.", nameof(values));
        }

        string name = UniqueName(hint);
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.Add(dims);
        // raw_data holds the values little-endian, as ONNX requires; MemoryMarshal gives the bytes of a float span.
        tensor.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX stores raw tensor data little-endian; this big-endian platform is not supported.");
        }

        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds a scalar float constant.</summary>
    /// <param name="hint">The name to make unique.</param>
    /// <param name="value">The value.</param>
    /// <returns>The constant's name.</returns>
    public string AddScalar(string hint, float value) => AddInitializer(hint, [value]);

    /// <summary>Adds a node of a standard ONNX operator (default domain, opset <see cref="OnnxExport.Opset"/>).</summary>
    /// <param name="opType">The operator: <c>Gemm</c>, <c>Relu</c>, <c>Mul</c>, …</param>
    /// <param name="hint">The name of the node and of its output, made unique.</param>
    /// <param name="inputs">The names of its input tensors, in the operator's order.</param>
    /// <param name="attributes">Its attributes.</param>
    /// <returns>The name of its (single) output tensor.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="inputs"/> or <paramref name="attributes"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="opType"/> or <paramref name="hint"/> is null or empty, an entry of <paramref name="inputs"/> or
    /// <paramref name="attributes"/> is null (the message gives its index), or an attribute has no value.
    /// </exception>
    public string AddNode(string opType, string hint, IReadOnlyList<string> inputs, params OnnxAttributeValue[] attributes)
    {
        ArgumentException.ThrowIfNullOrEmpty(opType);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(attributes);
        // Checked before the name is taken, so that a refused node leaves the graph's names as they were. An empty
        // input name is allowed: ONNX marks a left-out optional input that way.
        for (int i = 0; i < inputs.Count; i++)
        {
            if (inputs[i] is null)
            {
                throw new ArgumentException($"inputs[{i}] is null: expected the name of a tensor (or \"\" for a left-out optional input) for {opType}.", nameof(inputs));
            }
        }

        for (int i = 0; i < attributes.Length; i++)
        {
            if (attributes[i] is null)
            {
                throw new ArgumentException($"attributes[{i}] is null: expected an attribute of {opType}.", nameof(attributes));
            }

            // Checked before any proto is built: protobuf refused a null name from inside its setter, and a value-less
            // attribute after the node's name was taken.
            if (string.IsNullOrEmpty(attributes[i].Name))
            {
                throw new ArgumentException($"attributes[{i}] of {opType} has no name.", nameof(attributes));
            }

            if (attributes[i].FloatValue is null && attributes[i].IntValue is null)
            {
                throw new ArgumentException($"The attribute '{attributes[i].Name}' of {opType} has no value.", nameof(attributes));
            }
        }

        string output = UniqueName(hint);
        var node = new NodeProto { OpType = opType, Name = output };
        node.Input.Add(inputs);
        node.Output.Add(output);
        foreach (OnnxAttributeValue attribute in attributes)
        {
            var proto = new AttributeProto { Name = attribute.Name };
            if (attribute.FloatValue is { } f)
            {
                proto.Type = AttributeProto.Types.AttributeType.Float;
                proto.F = f;
            }
            else
            {
                proto.Type = AttributeProto.Types.AttributeType.Int;
                proto.I = attribute.IntValue!.Value;
            }
            node.Attribute.Add(proto);
        }

        _graph.Node.Add(node);
        return output;
    }
}
