using System.Buffers.Binary;
using System.Globalization;
using Google.Protobuf;
using NeuralCore.Configuration;
using NeuralCore.IO;
using NeuralCore.Layers;
using NeuralCore.Models;
using NeuralCore.Onnx.Schema;

namespace NeuralCore.Onnx;

/// <summary>
/// Reads an ONNX multilayer perceptron back into a <see cref="Sequential"/> model (not compiled): the subset that
/// <see cref="OnnxExport"/> writes and that PyTorch's and Keras's exporters produce for such models. The graph must be a
/// chain from its one input <c>[batch, features]</c> to its one output, of: <c>Gemm</c> (<c>alpha = beta = 1</c>,
/// <c>transA = 0</c>, B as <c>[in, out]</c> or with <c>transB = 1</c> as <c>[out, in]</c>, an optional C of
/// <c>[out]</c>) or <c>MatMul</c> with an optional <c>Add</c> of a <c>[out]</c> initializer, each a <see cref="Dense"/>;
/// <c>Relu</c>; <c>LeakyRelu</c>; <c>PRelu</c> with a slope initializer of one value per feature or one
/// (<see cref="PRelu"/>); <c>Elu</c>; <c>Selu</c> with its default constants (Keras's); <c>Softplus</c>, or a
/// <see cref="Mish"/> when a <c>Tanh</c> of it and a <c>Mul</c> by the input follow; <c>Softsign</c>, or <c>Abs</c>
/// then an <c>Add</c> of a constant 1 then a <c>Div</c> of the input by that sum (PyTorch's Softsign);
/// <c>HardSigmoid</c> with α = 1/6 and β = ½ (Keras 3's), or a <see cref="HardSilu"/> when a <c>Mul</c> of its input and
/// its output follows; <c>HardSwish</c>;
/// <c>Sigmoid</c>, or a <see cref="Silu"/> when a <c>Mul</c> of its input and its output follows; <c>Tanh</c>;
/// <c>Gelu</c> (opset 20), or a <see cref="Gelu"/> as earlier opsets compose it (this library's exporter and
/// PyTorch's): <c>x·(1 + Erf(x/√2))·½</c>, or <c>x·(1 + Tanh(√(2/π)·(x + 0.044715·x³)))·½</c> for the approximation,
/// its nodes in any order, Mul's and Add's operands either way round;
/// <c>BatchNormalization</c> in inference mode, its four statistics initializers; <c>LayerNormalization</c> (opset 17)
/// over the last axis, its scale and optional bias initializers; <c>Sub</c> of a per-feature initializer then <c>Div</c>
/// by one, or <c>Mul</c> then <c>Add</c>, a <see cref="NeuralCore.Layers.Normalization"/> (its scales at least 1e-7);
/// <c>Mul</c> by a scalar initializer (shape [], or [1] over more than one feature), then optionally <c>Add</c> of one, a
/// <see cref="Rescaling"/>;
/// <c>Softmax</c> over the last axis; <c>Clip</c> from 0
/// (a <see cref="Relu"/> with a maximum); and <c>Identity</c>, <c>Dropout</c> and a 2-D <c>Flatten</c>, which
/// inference skips. Weights are float initializers, in <c>float_data</c> or <c>raw_data</c>.
/// </summary>
public static class OnnxImport
{
    /// <summary>The largest ONNX file <see cref="Load"/> reads: 1 GiB, as for model files.</summary>
    public const long MaxFileBytes = 1L << 30;

    /// <summary>
    /// The newest version of the standard operators a file may declare: 26, the newest released one (ONNX Runtime 1.31.1
    /// supports opsets up to 26 and calls 27 under development); a later one is refused, since it may give an operator
    /// read here a new meaning.
    /// </summary>
    public const int MaxOpset = 26;

    /// <summary>Reads the ONNX model in <paramref name="path"/>.</summary>
    /// <param name="path">An ONNX file.</param>
    /// <returns>The model, with the file's weights; compile it to train it further.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The path is a directory, a named pipe, a device or a socket.</exception>
    /// <exception cref="UnauthorizedAccessException">A folder on the path does not let this user look inside (permission denied, not reported as missing), or the file may not be read.</exception>
    /// <exception cref="InvalidDataException">The file is not an ONNX model, is larger than <see cref="MaxFileBytes"/>, declares no opset of the standard operators, names two initializers alike, its tensors do not fit its graph, or a weight or bias is NaN or infinite (the message names the tensor and index).</exception>
    /// <exception cref="NotSupportedException">The graph is not a chain of the operators above (the message names the node), its opset is before 7 or after <see cref="MaxOpset"/>, or its layers would hold more parameters than one array.</exception>
    /// <exception cref="InsufficientMemoryException">Its layers' parameters would not fit in the memory available (checked before any is allocated).</exception>
    public static Sequential Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        InputFile.RequireRegular(path, "ONNX file");
        long length = new FileInfo(path).Length;
        if (length > MaxFileBytes)
        {
            throw new InvalidDataException($"{path}: {length} bytes is larger than the {MaxFileBytes}-byte limit for an ONNX file.");
        }

        // Read no further than the limit whatever the size said (a file can grow while it is read).
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var bytes = new MemoryStream((int)Math.Min(length, MaxFileBytes));
        var buffer = new byte[1 << 16];
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            if (bytes.Length + read > MaxFileBytes)
            {
                throw new InvalidDataException($"{path}: more than the {MaxFileBytes}-byte limit for an ONNX file (it grew while being read).");
            }

            bytes.Write(buffer, 0, read);
        }

        return FromOnnx(bytes.ToArray(), Path.GetFileName(path));
    }

    /// <summary>Reads an ONNX model from its bytes (<see cref="Load"/> without the file system).</summary>
    /// <param name="bytes">The serialized <c>ModelProto</c>.</param>
    /// <param name="name">The name used in error messages.</param>
    /// <returns>The model.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="InvalidDataException">The bytes are not an ONNX model, declare no opset of the standard operators, name two initializers alike, or its tensors do not fit its graph.</exception>
    /// <exception cref="NotSupportedException">The graph is not a chain of the supported operators, its opset is before 7 or after <see cref="MaxOpset"/>, or its layers would hold more parameters than one array.</exception>
    /// <exception cref="InsufficientMemoryException">Its layers' parameters would not fit in the memory available.</exception>
    public static Sequential FromOnnx(byte[] bytes, string name = "model.onnx")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(name);
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"{name}: not an ONNX model ({e.Message}).", e);
        }

        return new Reader(model, name).Read();
    }

    private sealed class Reader(ModelProto model, string file)
    {
        private readonly Dictionary<string, TensorProto> _initializers = [];
        private long _opset;

        public Sequential Read()
        {
            GraphProto graph = model.Graph ?? throw Invalid("it has no graph");
            OperatorSetIdProto opset = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")
                ?? throw Invalid("it declares no version of the standard operators (no opset_import for the domain \"\"), which every ONNX model must");
            if (opset.Version < 7)
            {
                throw new NotSupportedException(Names.Printable($"{file}: opset {opset.Version} is older than this reader supports (7 or later)."));
            }

            if (opset.Version > MaxOpset)
            {
                // A later opset may give an operator this reader knows a new meaning, which would be read with the old one
                // (as Softmax's axis changed at 13); ONNX Runtime refuses opsets past its own newest likewise.
                throw new NotSupportedException(Names.Printable(
                    $"{file}: opset {opset.Version} is newer than this reader knows (7 to {MaxOpset}); export the model at opset {MaxOpset} or earlier (torch.onnx.export's opset_version)."));
            }

            _opset = opset.Version;
            CheckAttributeNames(graph);

            foreach (TensorProto tensor in graph.Initializer)
            {
                // The last of two was taken without a word; ONNX requires the names to be unique.
                if (!_initializers.TryAdd(tensor.Name, tensor))
                {
                    throw Invalid($"two initializers are named '{tensor.Name}'");
                }
            }

            ValueInfoProto[] inputs = [.. graph.Input.Where(i => !_initializers.ContainsKey(i.Name))];
            if (inputs.Length != 1 || graph.Output.Count != 1)
            {
                throw new NotSupportedException(Names.Printable($"{file}: the graph has {inputs.Length} input(s) and {graph.Output.Count} output(s); a multilayer perceptron has one of each."));
            }

            string current = inputs[0].Name;
            int features = FeatureCount(inputs[0]);
            var sequential = new Sequential(features, name: Usable(graph.Name) ?? "sequential");
            // A Constant node of a tensor is an initializer under its output's name: PyTorch writes Clip's bounds so from
            // opset 11 (its ReLU6 and Hardtanh(0, 6) were refused as "not reading the node before it").
            var chain = new List<NodeProto>(graph.Node.Count);
            foreach (NodeProto candidate in graph.Node)
            {
                // PyTorch also writes Identity(initializer) where it merged two equal initializers (a BatchNorm1d whose
                // statistics equal its weight and bias): the output names that initializer.
                TensorProto? tensor = candidate.Domain is not ("" or "ai.onnx") || candidate.Output.Count != 1 ? null
                    : candidate.OpType == "Constant" && candidate.Input.Count == 0 ? ConstantValue(candidate)
                    : candidate.OpType == "Identity" && candidate.Input.Count == 1 && _initializers.TryGetValue(candidate.Input[0], out TensorProto? source) ? source.Clone()
                    : null;
                if (tensor is null)
                {
                    chain.Add(candidate);
                    continue;
                }

                tensor.Name = candidate.Output[0];
                if (!_initializers.TryAdd(tensor.Name, tensor))
                {
                    throw Invalid($"the constant '{tensor.Name}' has the name of an initializer or another constant");
                }
            }

            // ONNX assigns each value once: a node that wrote its own input (Relu(x) -> x), or two that wrote each other's
            // (a cycle), read as a chain of layers.
            var defined = new HashSet<string>(graph.Input.Select(v => v.Name), StringComparer.Ordinal);
            defined.UnionWith(_initializers.Keys);
            foreach (NodeProto node in chain)
            {
                foreach (string output in node.Output)
                {
                    if (output.Length > 0 && !defined.Add(output))
                    {
                        throw Invalid($"the node '{node.Name}' ({node.OpType}) writes '{output}', which the graph already defines (ONNX assigns each value once: the graph has a cycle, or two nodes write one value)");
                    }
                }
            }

            // After the constants: weights in a Constant node count too (a 4 MB file of 2,100 Gemm nodes reading one Constant
            // weight ran out of memory where the same weight as an initializer was refused at once).
            CheckParameterTotal(graph);
            NodeProto[] nodes = [.. chain];
            for (int i = 0; i < nodes.Length; i++)
            {
                // GELU as ONNX before opset 20 spells it (this library's exporter and PyTorch's): Erf, or Tanh for the
                // approximation, composed with x, its nodes in any order (so before the check that the first reads x),
                // and before the Rescaling (this library's exact form starts with x times 1/√2).
                if (GeluFor(nodes, i, current) is { } gelu)
                {
                    sequential.Add(gelu.Layer);
                    i += gelu.Nodes - 1;
                    current = gelu.Output;
                    continue;
                }

                NodeProto node = nodes[i];
                if (node.Input.Count == 0 || node.Input[0] != current || node.Output.Count == 0)
                {
                    throw Unsupported(node, $"it does not read the output of the node before it ('{current}'): only a chain of layers is supported");
                }

                // Mish as PyTorch (before opset 18) and this library's exporter write it: x times Tanh(Softplus(x)).
                if (node.OpType == "Softplus" && node.Domain is "" or "ai.onnx" && i + 2 < nodes.Length
                    && nodes[i + 1] is { OpType: "Tanh", Domain: "" or "ai.onnx" } tanh && tanh.Input.Count == 1 && tanh.Input[0] == node.Output[0]
                    && tanh.Output.Count > 0 && IsSiluProduct(nodes[i + 2], current, tanh.Output[0]))
                {
                    sequential.Add(new Mish());
                    i += 2;
                    current = nodes[i].Output[0];
                    continue;
                }

                // Softsign as PyTorch writes it: x / (|x| + 1), in Abs, Add of a constant 1 and Div.
                if (node.OpType == "Abs" && node.Domain is "" or "ai.onnx" && node.Input.Count == 1 && i + 2 < nodes.Length
                    && IsSoftsignPair(nodes[i + 1], nodes[i + 2], current, node.Output[0]))
                {
                    sequential.Add(new Softsign());
                    i += 2;
                    current = nodes[i].Output[0];
                    continue;
                }

                // The hard SiLU as PyTorch writes it before opset 14: HardSigmoid(x) (Keras 3's), then x times that.
                if (node.OpType == "HardSigmoid" && node.Domain is "" or "ai.onnx" && i + 1 < nodes.Length && IsSiluProduct(nodes[i + 1], current, node.Output[0]))
                {
                    _ = HardSigmoidFor(node);
                    sequential.Add(new HardSilu());
                    current = nodes[++i].Output[0];
                    continue;
                }

                // SiLU as PyTorch and this library's exporter write it: Sigmoid(x), then x times that.
                if (node.OpType == "Sigmoid" && node.Domain is "" or "ai.onnx" && i + 1 < nodes.Length && IsSiluProduct(nodes[i + 1], current, node.Output[0]))
                {
                    sequential.Add(new Silu());
                    current = nodes[++i].Output[0];
                    continue;
                }

                // A Rescaling as its exporter (and Keras's) writes it: Mul by a scalar, then maybe Add of a scalar.
                if (RescalingFor(node, i + 1 < nodes.Length ? nodes[i + 1] : null, sequential.OutputSize) is { } rescaling)
                {
                    sequential.Add(rescaling.Layer);
                    i += rescaling.Nodes - 1;
                    current = nodes[i].Output[0];
                    continue;
                }

                // A Normalization as its exporter writes it: Sub of a mean then Div by a scale, or inverted, Mul by a scale
                // then Add of a mean, each an initializer of one value per feature.
                if (i + 1 < nodes.Length && nodes[i + 1].Output.Count > 0
                    && StandardizationPair(node, nodes[i + 1], sequential.OutputSize) is { } standardization)
                {
                    sequential.Add(standardization);
                    current = nodes[++i].Output[0];
                    continue;
                }

                // A Dense whose bias is a following Add (MatMul + Add, the bias on either side: Add commutes), or none.
                NodeProto? add = node.OpType == "MatMul" && i + 1 < nodes.Length && nodes[i + 1].OpType == "Add" && nodes[i + 1].Domain is "" or "ai.onnx"
                    && nodes[i + 1].Input.Count == 2 && nodes[i + 1].Output.Count > 0
                    && ((nodes[i + 1].Input[0] == node.Output[0] && _initializers.ContainsKey(nodes[i + 1].Input[1]))
                        || (nodes[i + 1].Input[1] == node.Output[0] && _initializers.ContainsKey(nodes[i + 1].Input[0])))
                    ? nodes[++i] : null;
                ILayer? layer;
                try
                {
                    layer = LayerFor(node, add, sequential.OutputSize);
                }
                catch (ArgumentOutOfRangeException e)
                {
                    // A setting the library's layer does not accept (a negative LeakyRelu slope, a Clip below 0). The
                    // exception's own message ends in lines of its own (the actual value), which would print as '?'.
                    throw Unsupported(node, e.Message.Split('\n')[0].TrimEnd('\r'));
                }

                if (layer is not null)
                {
                    try
                    {
                        sequential.Add(layer);
                    }
                    catch (ArgumentException e)
                    {
                        // A layer the model refuses at that width (a PRelu's slopes for 2^31 - 1 features, say): the file named.
                        throw Unsupported(node, e.Message.Split('\n')[0].TrimEnd('\r'));
                    }

                    if (layer is Dense dense)
                    {
                        CopyWeights(dense, node, add);
                    }
                    else if (layer is BatchNormalization normalization)
                    {
                        CopyStatistics(normalization, node);
                    }
                    else if (layer is PRelu prelu)
                    {
                        FiniteValues(node, node.Input[1]).CopyTo(prelu.Parameters.Span);
                    }
                    else if (layer is LayerNormalization layerNormalization)
                    {
                        FiniteValues(node, node.Input[1]).CopyTo(layerNormalization.Parameters.Span);
                        if (layerNormalization.Center)
                        {
                            FiniteValues(node, node.Input[2]).CopyTo(layerNormalization.Parameters.Span[layerNormalization.InputSize..]);
                        }
                    }
                }

                current = (add ?? node).Output[0];
            }

            if (current != graph.Output[0].Name)
            {
                throw new NotSupportedException(Names.Printable($"{file}: the chain of nodes ends at '{current}', not at the graph's output '{graph.Output[0].Name}'."));
            }

            if (sequential.Layers.Count == 0)
            {
                // Only nodes that inference skips (Identity, Dropout, Flatten), or none: a model of no layers, which its
                // first use refused without naming the file.
                throw new NotSupportedException(Names.Printable($"{file}: the graph holds no layer this library computes (only Identity, Dropout or Flatten nodes, or none), so it maps its input to itself."));
            }

            return sequential;
        }

        private ILayer? LayerFor(NodeProto node, NodeProto? add, int inputs) =>
                node.Domain is not ("" or "ai.onnx")
                ? throw Unsupported(node, $"its domain '{node.Domain}' is not the standard operators' (\"\" or ai.onnx)")
                : node.OpType switch
                {
                    "Gemm" => Gemm(node, inputs),
                    "MatMul" => MatMul(node, add, inputs),
                    "Relu" => Unary(node, new Relu()),
                    "LeakyRelu" => Unary(node, new LeakyRelu(Attribute(node, "alpha", 0.01f))),
                    "Sigmoid" => Unary(node, new Sigmoid()),
                    "Tanh" => Unary(node, new Tanh()),
                    "Elu" => Unary(node, new Elu(Attribute(node, "alpha", 1f))),
                    "Selu" => Unary(node, Selu(node)),
                    "Softplus" => Unary(node, new Softplus()),
                    "Softsign" => Unary(node, new Softsign()),
                    "HardSigmoid" => Unary(node, HardSigmoidFor(node)),
                    "HardSwish" => Unary(node, Since(node, 14, new HardSilu())),
                    "Gelu" => Unary(node, Since(node, 20, GeluOperator(node))),
                    "BatchNormalization" => Normalization(node, inputs),
                    "LayerNormalization" => LayerNormalizationFor(node, inputs),
                    "PRelu" => PReluFor(node, inputs),
                    "Softmax" => Unary(node, Softmax(node)),
                    "Clip" => Clip(node),
                    "Identity" => null,
                    "Dropout" => DropoutFor(node),
                    "Flatten" when Attribute(node, "axis", 1L) == 1 => null,
                    _ => throw Unsupported(node, "this reader supports Gemm, MatMul (+ Add), Relu, LeakyRelu, PRelu, Elu, Selu, Softplus, Softsign, HardSigmoid (Keras 3's), HardSwish, Gelu (or its Erf or Tanh composition), Sigmoid, Tanh, Softmax, Clip, BatchNormalization, LayerNormalization, Sub + Div or Mul + Add of per-feature constants, Identity, Dropout and Flatten"),
                };

        // An operator of one input given more: ONNX Runtime refuses the node, and a reader that took the first would run
        // a graph it does not.
        private ILayer Unary(NodeProto node, ILayer layer) =>
            node.Input.Count == 1 ? layer : throw Invalid(string.Create(CultureInfo.InvariantCulture,
                $"node '{node.Name}' ({node.OpType}) has {node.Input.Count} inputs, where the operator takes one"));

        // An operator the file's opset does not have yet: ONNX Runtime registers none for it there, and refuses the file.
        private ILayer Since(NodeProto node, long opset, ILayer layer) =>
            _opset >= opset ? layer : throw Invalid(string.Create(CultureInfo.InvariantCulture,
                $"node '{node.Name}' is a {node.OpType}, an operator from opset {opset}, but the file declares opset {_opset}"));

        // A per-feature initializer shaped as its operator requires: [features], or also [1, features] where the operator
        // broadcasts it over the batch. Any other shape holding as many values (a [features, 1] scale, say) would broadcast
        // over the samples in ONNX Runtime, and give other values than the library's per-feature layer.
        private void CheckFeatureShape(NodeProto node, string name, int features, bool batchAxis)
        {
            TensorProto tensor = _initializers.TryGetValue(name, out TensorProto? found) ? found : throw Unsupported(node, $"'{name}' is not an initializer");
            bool fits = (tensor.Dims.Count == 1 && tensor.Dims[0] == features)
                || (batchAxis && tensor.Dims.Count == 2 && tensor.Dims[0] == 1 && tensor.Dims[1] == features);
            if (!fits)
            {
                throw Invalid(string.Create(CultureInfo.InvariantCulture,
                    $"node '{node.Name}' ({node.OpType}) reads {features} features, but its input '{name}' is shaped [{string.Join(", ", tensor.Dims)}], where it takes [{features}]{(batchAxis ? $" or [1, {features}]" : "")}"));
            }
        }

        // Each node that reads a shared initializer gets its own copy: 2,100 nodes of one [1024, 1024] weight (a 4 MB
        // file) were allocated layer by layer, 8 bytes a parameter, until Sequential.Add refused the 2,047th without
        // naming the file (17 GB by then, or an OutOfMemoryException). The total is checked before any layer exists;
        // each weight matrix counts with a bias of one value per unit, whether it has one or not.
        private void CheckParameterTotal(GraphProto graph)
        {
            long total = 0, stored = 0;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (NodeProto node in graph.Node)
            {
                if (node.OpType is "Gemm" or "MatMul" && node.Input.Count > 1 && _initializers.TryGetValue(node.Input[1], out TensorProto? w)
                    && w.Dims.Count == 2 && w.Dims[0] is > 0 and <= int.MaxValue && w.Dims[1] is > 0 and <= int.MaxValue)
                {
                    // Each claim is below 2^62, but a few of them could overflow the sum: it saturates instead.
                    long claim = (w.Dims[0] * w.Dims[1]) + Math.Max(w.Dims[0], w.Dims[1]);
                    total = claim > long.MaxValue - total ? long.MaxValue : total + claim;
                    if (seen.Add(node.Input[1]))
                    {
                        stored = claim > long.MaxValue - stored ? long.MaxValue : stored + claim;
                    }
                }
            }

            if (total > Array.MaxLength)
            {
                throw new NotSupportedException(string.Create(CultureInfo.InvariantCulture,
                    $"{file}: its dense layers would hold {total:N0} parameters (each layer its own copy of the weights it reads, shared or not), more than one array holds ({Array.MaxLength:N0})."));
            }

            // Below the memory check, 2,000 nodes of one [1024, 1024] weight (a 4 MB file) still passed as 2.1e9
            // parameters against 23 GB, and peaked at 19.8 GB (each layer's copy made while it is built): a graph
            // whose layers read their stored weights more than twice over is refused first (an exporter writes each
            // layer's own; a small model's few shared ones pass).
            if (total > (2 * stored) + (1 << 20))
            {
                throw new NotSupportedException(string.Create(CultureInfo.InvariantCulture,
                    $"{file}: its dense layers read the same weight initializers over and over: {total:N0} parameters (each layer its own copy) from {stored:N0} stored values. A multilayer perceptron's layers share no weights."));
            }

            Check.FitsInMemory(8m * total, string.Create(CultureInfo.InvariantCulture,
                $"{file}: its dense layers' {total:N0} parameters and their gradients (each layer its own copy of the weights it reads, shared or not)"), "read it on a machine with more memory");
        }

        private int FeatureCount(ValueInfoProto input)
        {
            var dims = input.Type?.TensorType?.Shape?.Dim;
            if (input.Type?.TensorType is not { ElemType: (int)TensorProto.Types.DataType.Float } || dims is not { Count: 2 } || dims[1].DimValue is <= 0 or > int.MaxValue)
            {
                throw new NotSupportedException(Names.Printable($"{file}: the input '{input.Name}' is not a float tensor of shape [batch, features] with a known number of features."));
            }

            return (int)dims[1].DimValue;
        }

        private Dense Gemm(NodeProto node, int inputs)
        {
            if (Attribute(node, "alpha", 1f) != 1f || Attribute(node, "beta", 1f) != 1f || Attribute(node, "transA", 0L) != 0)
            {
                throw Unsupported(node, "only alpha = beta = 1 and transA = 0 map to a dense layer");
            }

            if (node.Input.Count > 3)
            {
                throw Invalid(string.Create(CultureInfo.InvariantCulture, $"node '{node.Name}' (Gemm) has {node.Input.Count} inputs, where the operator takes A, B and an optional C"));
            }

            (int rows, int columns) = Matrix(node, 1);
            bool transposed = Attribute(node, "transB", 0L) != 0;
            int units = transposed ? rows : columns;
            CheckInputs(node, transposed ? columns : rows, inputs);
            bool bias = node.Input.Count > 2 && node.Input[2].Length > 0;
            CheckBias(node, bias ? node.Input[2] : null, units);
            return new Dense(units, useBias: bias, name: LayerName(node));
        }

        private Dense MatMul(NodeProto node, NodeProto? add, int inputs)
        {
            (int rows, int columns) = Matrix(node, 1);
            CheckInputs(node, rows, inputs);
            CheckBias(node, BiasOf(node, add), columns);
            return new Dense(columns, useBias: add is not null, name: LayerName(node));
        }

        private Softmax Softmax(NodeProto node)
        {
            long axis = Attribute(node, "axis", -1L);
            return axis is -1 or 1 ? new Softmax() : throw Unsupported(node, $"a softmax over axis {axis} is not over the features");
        }

        // Sub(x, mean) then Div(·, std), or Mul(x, std) then Add(·, mean): a Normalization whose variance is std², when
        // each std is at least Keras's 1e-7 (max(√(std²), 1e-7) then gives std back exactly); null for any other nodes.
        // Mul(x, s) with s a scalar initializer (shape [], or [1] over more than one feature, where a per-feature
        // constant would need as many values), and an Add of such a scalar after it when there is one: a Rescaling of
        // the nodes' count. Over one feature a [1] constant stays a Normalization's, as it read before.
        private (Rescaling Layer, int Nodes)? RescalingFor(NodeProto mul, NodeProto? next, int inputs)
        {
            if (mul.OpType != "Mul" || mul.Domain is not ("" or "ai.onnx") || mul.Input.Count != 2 || mul.Output.Count == 0
                || ScalarConstant(mul, mul.Input[1], inputs) is not { } scale)
            {
                return null;
            }

            float offset = 0f;
            int count = 1;
            if (next is { OpType: "Add", Domain: "" or "ai.onnx" } && next.Input.Count == 2 && next.Input[0] == mul.Output[0]
                && next.Output.Count > 0 && ScalarConstant(next, next.Input[1], inputs) is { } added)
            {
                (offset, count) = (added, 2);
            }
            else if (next is { OpType: "Add" } && next.Input.Count == 2 && next.Input[0] == mul.Output[0]
                && _initializers.ContainsKey(next.Input[1]))
            {
                // Mul by a scalar, Add of a vector: an affine map of no layer here.
                return null;
            }

            try
            {
                // The exporter names the node "<layer>/Mul".
                return (new Rescaling(scale, offset, name: Usable(mul.Name.EndsWith("/Mul", StringComparison.Ordinal) ? mul.Name[..^4] : mul.Name)), count);
            }
            catch (ArgumentOutOfRangeException)
            {
                throw Invalid($"node '{mul.Name}' (Mul) scales by {scale} and adds {offset}; a rescaling's constants must be finite");
            }
        }

        private float? ScalarConstant(NodeProto node, string name, int inputs)
        {
            if (!_initializers.TryGetValue(name, out TensorProto? tensor) || !(tensor.Dims.Count == 0 || (tensor.Dims.Count == 1 && tensor.Dims[0] == 1 && inputs > 1)))
            {
                return null;
            }

            float[] values = Values(node, name);
            return values.Length == 1 ? values[0] : null;
        }

        private NeuralCore.Layers.Normalization? StandardizationPair(NodeProto first, NodeProto second, int inputs)
        {
            bool forward = first.OpType == "Sub" && second.OpType == "Div", inverted = first.OpType == "Mul" && second.OpType == "Add";
            if (!(forward || inverted) || first.Domain is not ("" or "ai.onnx") || second.Domain is not ("" or "ai.onnx")
                || first.Input.Count != 2 || second.Input.Count != 2 || second.Input[0] != first.Output[0]
                || !_initializers.ContainsKey(first.Input[1]) || !_initializers.ContainsKey(second.Input[1]))
            {
                return null;
            }

            (NodeProto meanNode, NodeProto stdNode) = forward ? (first, second) : (second, first);
            float[] mean = FiniteValues(meanNode, meanNode.Input[1]), std = FiniteValues(stdNode, stdNode.Input[1]);
            // One value per feature along the last axis ([F] or [1, F]): a [F, 1] or [1, 1, F] constant broadcasts to
            // another shape in ONNX Runtime, which is no normalization.
            static bool PerFeature(TensorProto t, int features) =>
                t.Dims.Count is 1 or 2 && t.Dims[^1] == features && (t.Dims.Count == 1 || t.Dims[0] == 1);
            if (mean.Length != inputs || std.Length != inputs
                || !PerFeature(_initializers[meanNode.Input[1]], inputs) || !PerFeature(_initializers[stdNode.Input[1]], inputs))
            {
                throw Unsupported(first, string.Create(CultureInfo.InvariantCulture,
                    $"with '{second.Name}' ({second.OpType}) it reads {inputs} features, but its constants are of shapes [{string.Join(", ", _initializers[meanNode.Input[1]].Dims)}] and [{string.Join(", ", _initializers[stdNode.Input[1]].Dims)}] (a normalization has one value per feature, [{inputs}] or [1, {inputs}])"));
            }

            float[] variance = new float[inputs];
            for (int j = 0; j < inputs; j++)
            {
                float v = std[j] * std[j];
                if (!(std[j] >= NeuralCore.Layers.Normalization.MinScale) || !float.IsFinite(v) || MathF.Max(MathF.Sqrt(v), NeuralCore.Layers.Normalization.MinScale) != std[j])
                {
                    throw Unsupported(stdNode, string.Create(CultureInfo.InvariantCulture,
                        $"its scale for feature {j} is {std[j]:R}, where a normalization's is at least {NeuralCore.Layers.Normalization.MinScale:R} and its square (the variance) within float's range"));
                }

                variance[j] = v;
            }

            // The exporter names the nodes after the layer: "norm/Sub" and "norm/Div".
            int slash = first.Name.LastIndexOf('/');
            return new NeuralCore.Layers.Normalization(mean, variance, invert: inverted, Usable(slash > 0 ? first.Name[..slash] : first.Name));
        }

        // A Constant node's tensor: its value, value_float or value_floats (opset 12); null for other kinds (ints,
        // strings, sparse), which then stand in the chain and are refused there by name.
        private static TensorProto? ConstantValue(NodeProto node)
        {
            if (node.Attribute.Count != 1)
            {
                return null;
            }

            AttributeProto value = node.Attribute[0];
            return (value.Name, value.Type) switch
            {
                ("value", AttributeProto.Types.AttributeType.Tensor) => value.T.Clone(),
                ("value_float", AttributeProto.Types.AttributeType.Float) => new TensorProto { DataType = (int)TensorProto.Types.DataType.Float, FloatData = { value.F } },
                ("value_floats", AttributeProto.Types.AttributeType.Floats) => new TensorProto
                {
                    DataType = (int)TensorProto.Types.DataType.Float,
                    Dims = { (long)value.Floats.Count },
                    FloatData = { value.Floats },
                },
                _ => null,
            };
        }

        // Dropout is skipped as inference skips it, unless its training_mode input (opset 12) is given and not false:
        // ONNX Runtime then drops (a file with it set differed by up to 9.9).
        private ILayer? DropoutFor(NodeProto node)
        {
            if (node.Input.Count > 2 && node.Input[2].Length > 0
                && !(_initializers.TryGetValue(node.Input[2], out TensorProto? mode) && mode.DataType == (int)TensorProto.Types.DataType.Bool
                    && (mode.Int32Data.Count == 1 ? mode.Int32Data[0] == 0 : mode.RawData.Length == 1 && mode.RawData[0] == 0)))
            {
                throw Unsupported(node, $"its training_mode input '{node.Input[2]}' is not a constant false, so it may drop values where inference keeps them");
            }

            return null;
        }

        // Keras 3's hard sigmoid is relu6(x + 3)/6: ONNX's HardSigmoid with α = 1/6 (as float) and β = ½. Its defaults,
        // α = 0.2, are Keras 2's, another function.
        private HardSigmoid HardSigmoidFor(NodeProto node)
        {
            float alpha = Attribute(node, "alpha", 0.2f), beta = Attribute(node, "beta", 0.5f);
            if (Math.Abs(alpha - (1.0 / 6)) > 1e-7 || beta != 0.5f)
            {
                throw Unsupported(node, string.Create(CultureInfo.InvariantCulture,
                    $"its alpha {alpha} and beta {beta} are not the library's hard sigmoid (Keras 3's relu6(x + 3)/6: alpha 1/6, beta 0.5)"));
            }

            return new HardSigmoid();
        }

        // The Add of |x| and a constant 1 (either operand first), then x divided by that sum.
        private bool IsSoftsignPair(NodeProto add, NodeProto div, string input, string abs)
        {
            if (add is not { OpType: "Add", Domain: "" or "ai.onnx" } || add.Input.Count != 2 || add.Output.Count == 0
                || div is not { OpType: "Div", Domain: "" or "ai.onnx" } || div.Input.Count != 2 || div.Output.Count == 0
                || div.Input[0] != input || div.Input[1] != add.Output[0])
            {
                return false;
            }

            string one = add.Input[0] == abs ? add.Input[1] : add.Input[1] == abs ? add.Input[0] : "";
            return _initializers.TryGetValue(one, out TensorProto? constant) && IsOneValueShape(constant)
                && constant.DataType == (int)TensorProto.Types.DataType.Float && Values(add, one) is [1f];
        }

        // Opset 20's Gelu: approximate "none" (the default) is the exact GELU, "tanh" its approximation.
        private Gelu GeluOperator(NodeProto node)
        {
            AttributeProto? attribute = node.Attribute.FirstOrDefault(a => a.Name == "approximate");
            if (attribute is not null && attribute.Type != AttributeProto.Types.AttributeType.String)
            {
                throw Invalid($"node '{node.Name}' (Gelu): attribute 'approximate' is of type {attribute.Type}, not STRING");
            }

            string approximate = attribute?.S.ToStringUtf8() ?? "none";
            return approximate switch
            {
                "none" => new Gelu(name: Usable(node.Name)),
                "tanh" => new Gelu(approximate: true, name: Usable(node.Name)),
                _ => throw Unsupported(node, $"its attribute approximate is '{approximate}', where ONNX defines 'none' and 'tanh'"),
            };
        }

        // An operand of one node of an element-wise composition: the chain's input (Step -1), a constant of one value
        // (Step -2), or the output of an earlier node of the composition (its step).
        private readonly record struct Operand(int Step, float Value)
        {
            public static readonly Operand Input = new(-1, 0f);

            public static Operand Constant(double value) => new(-2, (float)value);

            public static Operand Of(int step) => new(step, 0f);
        }

        // One node of a composition: its operator, its first operand and, for a binary operator, its second.
        private readonly record struct Step(string Op, Operand A, Operand? B = null);

        // GELU's compositions before opset 20. The exact one: x·(1 + erf(x/√2))·½, x/√2 written as a Mul by 1/√2 (this
        // library's exporter) or a Div by √2 (PyTorch's). The approximation: x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))·½,
        // x³ as x·x·x or Pow(x, 3). The product with ½ grouped any of three ways; Mul's and Add's operands in either order.
        private static readonly (Step[] Steps, bool Approximate)[] GeluCompositions = GeluPatterns();

        private static (Step[] Steps, bool Approximate)[] GeluPatterns()
        {
            Operand x = Operand.Input, one = Operand.Constant(1), half = Operand.Constant(0.5);
            static Operand Of(int step) => Operand.Of(step);
            Step[] Approximation(params Step[] cube)
            {
                int c = cube.Length - 1;
                return [.. cube, new("Mul", Of(c), Operand.Constant(0.044715)), new("Add", x, Of(c + 1)),
                    new("Mul", Of(c + 2), Operand.Constant(Math.Sqrt(2 / Math.PI))), new("Tanh", Of(c + 3)), new("Add", Of(c + 4), one)];
            }

            (Step[] Inner, bool Approximate)[] inners =
            [
                ([new("Mul", x, Operand.Constant(1 / Math.Sqrt(2))), new("Erf", Of(0)), new("Add", Of(1), one)], false),
                ([new("Div", x, Operand.Constant(Math.Sqrt(2))), new("Erf", Of(0)), new("Add", Of(1), one)], false),
                (Approximation(new Step("Mul", x, x), new Step("Mul", Of(0), x)), true),
                (Approximation(new Step("Pow", x, Operand.Constant(3))), true),
            ];
            var patterns = new List<(Step[], bool)>();
            foreach ((Step[] inner, bool approximate) in inners)
            {
                int s = inner.Length - 1, n = inner.Length;
                patterns.Add(([.. inner, new("Mul", x, half), new("Mul", Of(n), Of(s))], approximate));
                patterns.Add(([.. inner, new("Mul", x, Of(s)), new("Mul", Of(n), half)], approximate));
                patterns.Add(([.. inner, new("Mul", Of(s), half), new("Mul", x, Of(n))], approximate));
            }

            return [.. patterns];
        }

        // The GELU whose composition the nodes from start on are (in any order that computes it), the node count and its
        // output; null when they are not one.
        private (Gelu Layer, int Nodes, string Output)? GeluFor(NodeProto[] nodes, int start, string input)
        {
            foreach ((Step[] steps, bool approximate) in GeluCompositions)
            {
                if (start + steps.Length > nodes.Length)
                {
                    continue;
                }

                var outputs = new string[steps.Length];
                var used = new bool[steps.Length];
                NodeProto? last = null;
                for (int s = 0; s < steps.Length; s++)
                {
                    last = null;
                    for (int j = 0; j < steps.Length && last is null; j++)
                    {
                        NodeProto node = nodes[start + j];
                        if (!used[j] && Computes(node, steps[s], input, outputs))
                        {
                            (used[j], outputs[s], last) = (true, node.Output[0], node);
                        }
                    }

                    if (last is null)
                    {
                        break;
                    }
                }

                if (last is not null)
                {
                    // The exporter names the last node "<layer>/Mul".
                    string? name = last.Name.EndsWith("/Mul", StringComparison.Ordinal) ? Usable(last.Name[..^4]) : null;
                    return (new Gelu(approximate, name), steps.Length, outputs[^1]);
                }
            }

            return null;
        }

        private bool Computes(NodeProto node, Step step, string input, string[] outputs)
        {
            if (node.OpType != step.Op || node.Domain is not ("" or "ai.onnx") || node.Output.Count != 1
                || node.Input.Count != (step.B is null ? 1 : 2))
            {
                return false;
            }

            if (step.B is not { } b)
            {
                return Reads(node, node.Input[0], step.A, input, outputs);
            }

            return (Reads(node, node.Input[0], step.A, input, outputs) && Reads(node, node.Input[1], b, input, outputs))
                || (step.Op is "Mul" or "Add" && Reads(node, node.Input[0], b, input, outputs) && Reads(node, node.Input[1], step.A, input, outputs));
        }

        // Whether the node's input 'name' is the operand: the chain's input, an earlier step's output, or a float
        // constant of one value within a few units in the last place of the operand's.
        private bool Reads(NodeProto node, string name, Operand operand, string input, string[] outputs) => operand.Step switch
        {
            -1 => name == input,
            -2 => _initializers.TryGetValue(name, out TensorProto? constant) && IsOneValueShape(constant)
                && constant.DataType == (int)TensorProto.Types.DataType.Float && Values(node, name) is [float value]
                && Math.Abs(value - operand.Value) <= 1e-6f * Math.Max(1f, Math.Abs(operand.Value)),
            int step => name == outputs[step],
        };

        // A constant of one value that leaves a [batch, features] operand's shape as it is: rank 0 to 2, every axis 1 (a
        // [1, 1, 1] one makes ONNX Runtime's output rank 3).
        private static bool IsOneValueShape(TensorProto constant) => constant.Dims.Count <= 2 && constant.Dims.All(d => d == 1);

        private static bool IsSiluProduct(NodeProto next, string input, string sigmoid) =>
            next.OpType == "Mul" && next.Domain is "" or "ai.onnx" && next.Input.Count == 2 && next.Output.Count > 0
            && ((next.Input[0] == input && next.Input[1] == sigmoid) || (next.Input[0] == sigmoid && next.Input[1] == input));

        // ONNX's momentum has Keras's meaning (the running statistics' share kept per step); its ε defaults to 1e-5.
        private BatchNormalization Normalization(NodeProto node, int inputs)
        {
            if (Attribute(node, "training_mode", 0L) != 0)
            {
                throw Unsupported(node, "it is in training mode (training_mode = 1), where inference needs the running statistics");
            }

            // Before opset 14 training mode is the statistics' extra outputs (PyTorch's export in training mode writes
            // five): read as inference, the file gave other values than ONNX Runtime (by up to 0.42 on PyTorch's).
            if (node.Output.Count > 1 && node.Output.Skip(1).Any(name => name.Length > 0))
            {
                throw Unsupported(node, $"it has {node.Output.Count} outputs, the batch statistics of training mode, where inference reads the running statistics and has one");
            }

            if (node.Input.Count != 5)
            {
                throw Unsupported(node, $"it has {node.Input.Count} inputs where a batch normalization reads 5 (X, scale, B, mean, var)");
            }

            if (node.Input.Skip(1).Any(name => name.Length == 0))
            {
                throw Unsupported(node, "one of its scale, B, mean and var inputs is left empty, where each must be an initializer");
            }

            for (int k = 1; k < 5; k++)
            {
                int length = Values(node, node.Input[k]).Length;
                if (length != inputs)
                {
                    throw Invalid(string.Create(CultureInfo.InvariantCulture,
                        $"node '{node.Name}' (BatchNormalization) reads {inputs} features, but its input '{node.Input[k]}' holds {length} values"));
                }

                CheckFeatureShape(node, node.Input[k], inputs, batchAxis: false);
            }

            // The momentum plays no part in inference. PyTorch's momentum=None or 0 (statistics fixed, or a cumulative
            // average) is written as 1, which the layer, whose statistics must move, refuses: it keeps them all but fixed.
            float momentum = Attribute(node, "momentum", 0.9f);
            return new BatchNormalization(momentum == 1f ? MathF.BitDecrement(1f) : momentum,
                Attribute(node, "epsilon", 1e-5f), LayerName(node));
        }

        // PRelu(X, slope) of a [batch, features] X: the slope an initializer that broadcasts as one value per feature
        // ([features], [1, features]) or as one for all ([1], a scalar); any other shape would give each sample its own.
        // A scalar is always shared (the exporter writes shared slopes so); [1] of a one-feature layer is per feature.
        private PRelu PReluFor(NodeProto node, int inputs)
        {
            if (node.Input.Count != 2 || node.Input[1].Length == 0)
            {
                throw Unsupported(node, $"it has {node.Input.Count} inputs where a PRelu reads X and a slope");
            }

            if (!_initializers.TryGetValue(node.Input[1], out TensorProto? slope))
            {
                throw Unsupported(node, $"its slope '{node.Input[1]}' is not an initializer");
            }

            long last = slope.Dims.Count == 0 ? 1 : slope.Dims[^1];
            // At most rank 2: ONNX broadcasts the slope to X's shape, and a [1, 1, F] slope would make the output rank 3.
            if (slope.Dims.Count > 2 || slope.Dims.Take(Math.Max(0, slope.Dims.Count - 1)).Any(d => d != 1) || (last != 1 && last != inputs))
            {
                throw Unsupported(node, string.Create(CultureInfo.InvariantCulture,
                    $"its slope '{node.Input[1]}' is shaped [{string.Join(", ", slope.Dims)}], where the library's layer takes one slope per feature ([{inputs}]) or one for all ([1])"));
            }

            int length = FiniteValues(node, node.Input[1]).Length;
            return new PRelu(0f, sharedAlpha: slope.Dims.Count == 0 || (length == 1 && inputs > 1), LayerName(node));
        }

        // Opset 17's LayerNormalization over the last axis of the [batch, features] tensor (axis -1 or 1; its default is
        // -1), in float (stash_type 1, the default): the library's layer, computed in double. Its ε defaults to 1e-5.
        private LayerNormalization LayerNormalizationFor(NodeProto node, int inputs)
        {
            long axis = Attribute(node, "axis", -1L);
            if (axis is not (-1 or 1))
            {
                throw Unsupported(node, string.Create(CultureInfo.InvariantCulture, $"it normalizes from axis {axis}, where the library normalizes each sample's features (axis -1 or 1)"));
            }

            if (node.Input.Count is < 2 or > 3)
            {
                throw Unsupported(node, $"it has {node.Input.Count} inputs where a layer normalization reads X, Scale and an optional B");
            }

            if (node.Input[1].Length == 0)
            {
                throw Unsupported(node, "its Scale input is left empty, where it must be an initializer");
            }

            if (node.Output.Count > 1 && node.Output.Skip(1).Any(name => name.Length > 0))
            {
                throw Unsupported(node, "it also outputs its mean or inverse standard deviation, which the library's layer does not");
            }

            bool center = node.Input.Count == 3 && node.Input[2].Length > 0;
            for (int k = 1; k < (center ? 3 : 2); k++)
            {
                int length = Values(node, node.Input[k]).Length;
                if (length != inputs)
                {
                    throw Invalid(string.Create(CultureInfo.InvariantCulture,
                        $"node '{node.Name}' (LayerNormalization) reads {inputs} features, but its input '{node.Input[k]}' holds {length} values"));
                }

                CheckFeatureShape(node, node.Input[k], inputs, batchAxis: true);
            }

            return new LayerNormalization(Attribute(node, "epsilon", 1e-5f), center, scale: true, LayerName(node));
        }

        private void CopyStatistics(BatchNormalization layer, NodeProto node)
        {
            int features = layer.InputSize;
            FiniteValues(node, node.Input[1]).CopyTo(layer.Parameters.Span);
            FiniteValues(node, node.Input[2]).CopyTo(layer.Parameters.Span[features..]);
            FiniteValues(node, node.Input[3]).CopyTo(layer.MovingMean.Span);
            float[] variance = FiniteValues(node, node.Input[4]);
            int negative = Array.FindIndex(variance, v => v < 0);
            if (negative >= 0)
            {
                throw Invalid(string.Create(CultureInfo.InvariantCulture,
                    $"tensor '{node.Input[4]}' (the variance read by node '{node.Name}') has value {negative} = {variance[negative]:R}, where a variance must not be negative"));
            }

            variance.CopyTo(layer.MovingVariance.Span);
        }

        // ONNX's default constants are Keras's, rounded to float; other ones have no layer here.
        private Selu Selu(NodeProto node) =>
            Attribute(node, "alpha", NeuralCore.Layers.Selu.Alpha) == NeuralCore.Layers.Selu.Alpha && Attribute(node, "gamma", NeuralCore.Layers.Selu.Scale) == NeuralCore.Layers.Selu.Scale
                ? new Selu()
                : throw Unsupported(node, $"only SELU's standard constants (alpha {NeuralCore.Layers.Selu.Alpha:R}, gamma {NeuralCore.Layers.Selu.Scale:R}) map to a layer");

        private Relu Clip(NodeProto node)
        {
            // From opset 11 the bounds are inputs; before, attributes.
            float? min = node.Input.Count > 1 && node.Input[1].Length > 0 ? Scalar(node, node.Input[1])
                : node.Attribute.Any(a => a.Name == "min") ? Attribute(node, "min", 0f) : null;
            float? max = node.Input.Count > 2 && node.Input[2].Length > 0 ? Scalar(node, node.Input[2])
                : node.Attribute.Any(a => a.Name == "max") ? Attribute(node, "max", 0f) : null;
            return min == 0f ? new Relu { MaxValue = max } : throw Unsupported(node, "only a Clip from 0 (a capped ReLU) maps to a layer");
        }

        private void CopyWeights(Dense dense, NodeProto node, NodeProto? add)
        {
            float[] b = FiniteValues(node, node.Input[1]);
            Span<float> weights = dense.Weights.Span;
            int inputs = dense.InputSize, units = dense.Units;
            if (node.OpType == "Gemm" && Attribute(node, "transB", 0L) != 0)
            {
                // PyTorch's layout, [out, in]: NeuralCore keeps [in, out].
                for (int o = 0; o < units; o++)
                {
                    for (int i = 0; i < inputs; i++)
                    {
                        weights[(i * units) + o] = b[(o * inputs) + i];
                    }
                }
            }
            else
            {
                b.CopyTo(weights);
            }

            string? biasName = node.OpType == "Gemm" ? (dense.UseBias ? node.Input[2] : null) : BiasOf(node, add);
            if (biasName is not null)
            {
                float[] bias = FiniteValues(node, biasName);
                if (bias.Length == units)
                {
                    bias.CopyTo(dense.Bias.Span);
                }
                else if (bias.Length == 1)
                {
                    dense.Bias.Span.Fill(bias[0]);
                }
                else
                {
                    throw Unsupported(node, $"its bias '{biasName}' holds {bias.Length} values for {units} units");
                }
            }
        }

        private (int Rows, int Columns) Matrix(NodeProto node, int input)
        {
            if (node.Input.Count <= input || !_initializers.TryGetValue(node.Input[input], out TensorProto? tensor))
            {
                throw Unsupported(node, "its weights are not an initializer");
            }

            if (tensor.Dims.Count != 2 || tensor.Dims[0] is <= 0 or > int.MaxValue || tensor.Dims[1] is <= 0 or > int.MaxValue)
            {
                throw Unsupported(node, $"its weights '{tensor.Name}' have shape [{string.Join(", ", tensor.Dims)}], not a matrix");
            }

            if (tensor.Dims[0] * tensor.Dims[1] > Array.MaxLength)
            {
                throw Unsupported(node, $"its weights '{tensor.Name}' of shape [{tensor.Dims[0]}, {tensor.Dims[1]}] are more than one array holds");
            }

            // The data must be there, in full, before a layer of this size is allocated.
            FiniteValues(node, tensor.Name);
            return ((int)tensor.Dims[0], (int)tensor.Dims[1]);
        }

        // The bias of a MatMul's Add: the operand that is not the product.
        private static string? BiasOf(NodeProto matMul, NodeProto? add) =>
            add is null ? null : add.Input[0] == matMul.Output[0] ? add.Input[1] : add.Input[0];

        // A bias must be one value per unit ([units], [1, units]) or one value for all (a scalar, [1], [1, 1]); a shape
        // such as [units, 1] would broadcast over rows, which a dense layer's bias does not, and one of rank 3 or more is
        // not a Gemm's C (broadcast to [M, N]) and would make an Add's output rank 3.
        private void CheckBias(NodeProto node, string? name, int units)
        {
            if (name is null)
            {
                return;
            }

            float[] values = FiniteValues(node, name);
            TensorProto tensor = _initializers[name];
            if (tensor.Dims.Count > 2)
            {
                throw Unsupported(node, $"its bias '{name}' of shape [{string.Join(", ", tensor.Dims)}] has rank {tensor.Dims.Count}: a dense layer's bias has rank 2 at most");
            }

            bool perUnit = values.Length == units && (tensor.Dims.Count == 0 || tensor.Dims[^1] == units);
            if (!perUnit && values.Length != 1)
            {
                throw Unsupported(node, $"its bias '{name}' of shape [{string.Join(", ", tensor.Dims)}] is not one value per unit ({units})");
            }
        }

        private void CheckInputs(NodeProto node, int expected, int actual)
        {
            if (expected != actual)
            {
                throw Unsupported(node, $"its weights take {expected} inputs but the layer before outputs {actual}");
            }
        }

        // Clip's bounds: a scalar, shaped [] or [1] (ONNX Runtime refuses a [1, 1, 1] bound, which holds one value too).
        private float Scalar(NodeProto node, string name)
        {
            float[] values = Values(node, name);
            return values.Length == 1 && _initializers[name].Dims.Count <= 1 ? values[0] : throw Unsupported(node, $"'{name}' is not a scalar");
        }

        // A weight or bias that is NaN or infinite makes every prediction NaN (or the layer's whole output one value);
        // NeuralCore's own model files refuse them too (ModelFile), and its export never writes one.
        private float[] FiniteValues(NodeProto node, string name)
        {
            float[] values = Values(node, name);
            int bad = Kernels.Elementwise.IndexOfNonFinite(values);
            if (bad >= 0)
            {
                throw Invalid(string.Create(CultureInfo.InvariantCulture,
                    $"tensor '{name}' (read by node '{node.Name}', {node.OpType}) has value {bad} = {values[bad]:R}, where weights and biases must be finite"));
            }

            return values;
        }

        private float[] Values(NodeProto node, string name)
        {
            if (!_initializers.TryGetValue(name, out TensorProto? tensor))
            {
                throw Unsupported(node, $"'{name}' is not an initializer");
            }

            if (tensor.DataType != (int)TensorProto.Types.DataType.Float)
            {
                throw Unsupported(node, $"'{name}' holds {(TensorProto.Types.DataType)tensor.DataType} values, not float");
            }

            if (tensor.DataLocation == TensorProto.Types.DataLocation.External)
            {
                // Its data is in no field here: it was reported as holding 0 values.
                string location = tensor.ExternalData.FirstOrDefault(e => e.Key == "location")?.Value ?? "";
                throw Unsupported(node, $"'{name}' is stored in another file ('{location}'), which this reader does not read; save the model with its weights inside it (onnx.save_model(..., save_as_external_data=False))");
            }

            long count = 1;
            foreach (long dim in tensor.Dims)
            {
                if (dim < 0 || dim > Array.MaxLength || (dim > 0 && count > Array.MaxLength / dim))
                {
                    throw Invalid($"tensor '{name}' has shape [{string.Join(", ", tensor.Dims)}], negative or larger than one array holds");
                }

                count *= dim;
            }

            if (tensor.RawData.Length > 0 && tensor.FloatData.Count > 0)
            {
                // The ONNX schema allows one of the two; which one a reader takes is a guess (raw_data was taken silently).
                throw Invalid($"tensor '{name}' holds its values twice, in raw_data ({tensor.RawData.Length} bytes) and in float_data ({tensor.FloatData.Count} values); a tensor holds one of them");
            }

            if (tensor.RawData.Length > 0)
            {
                if (tensor.RawData.Length != count * sizeof(float))
                {
                    throw Invalid($"tensor '{name}' of shape [{string.Join(", ", tensor.Dims)}] holds {tensor.RawData.Length} bytes, not {count * sizeof(float)}");
                }

                float[] values = new float[count];
                ReadOnlySpan<byte> raw = tensor.RawData.Span;
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(i * sizeof(float))..]);
                }

                return values;
            }

            if (tensor.FloatData.Count != count)
            {
                throw Invalid($"tensor '{name}' of shape [{string.Join(", ", tensor.Dims)}] holds {tensor.FloatData.Count} values, not {count}");
            }

            return [.. tensor.FloatData];
        }

        // The attributes each operator this reader knows defines in opsets 7 to MaxOpset (the ones it reads or checks, and
        // the ones that change nothing for a batch of feature vectors, as BatchNormalization's spatial and Dropout's seed).
        private static readonly Dictionary<string, string[]> s_attributes = new(StringComparer.Ordinal)
        {
            ["Gemm"] = ["alpha", "beta", "transA", "transB"],
            ["LeakyRelu"] = ["alpha"],
            ["Elu"] = ["alpha"],
            ["Selu"] = ["alpha", "gamma"],
            ["HardSigmoid"] = ["alpha", "beta"],
            ["Gelu"] = ["approximate"],
            ["BatchNormalization"] = ["epsilon", "momentum", "spatial", "training_mode"],
            ["LayerNormalization"] = ["axis", "epsilon", "stash_type"],
            ["Softmax"] = ["axis"],
            ["Clip"] = ["min", "max"],
            ["Dropout"] = ["ratio", "seed"],
            ["Flatten"] = ["axis"],
            ["Constant"] = ["value", "value_float", "value_floats", "value_int", "value_ints", "value_string", "value_strings", "sparse_value"],
        };

        // The operators this reader knows that define no attribute in opsets 7 to MaxOpset.
        private static readonly HashSet<string> s_withoutAttributes = new(StringComparer.Ordinal)
        {
            "MatMul", "Add", "Sub", "Mul", "Div", "Abs", "Erf", "Pow", "Relu", "Sigmoid", "Tanh", "Softplus", "Softsign", "HardSwish", "PRelu", "Identity",
        };

        // An attribute the operator does not define, or one given twice, was ignored (or its first copy read), where ONNX
        // Runtime refuses the node ("Unrecognized attribute"): a file meant for another operator version or another
        // runtime would have read as a model that computes something else. Operators this reader does not know are left
        // to the message that lists the ones it does.
        private void CheckAttributeNames(GraphProto graph)
        {
            foreach (NodeProto node in graph.Node)
            {
                string[]? known = s_attributes.GetValueOrDefault(node.OpType) ?? (s_withoutAttributes.Contains(node.OpType) ? [] : null);
                if (node.Domain is not ("" or "ai.onnx") || known is null)
                {
                    continue;
                }

                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (AttributeProto attribute in node.Attribute)
                {
                    if (!known.Contains(attribute.Name, StringComparer.Ordinal))
                    {
                        string defined = known.Length == 0 ? "defines none" : $"defines {string.Join(", ", known)}";
                        throw Invalid($"node '{node.Name}' ({node.OpType}) has an attribute '{attribute.Name}', which the operator does not define (it {defined}); ONNX Runtime refuses the node");
                    }

                    if (!seen.Add(attribute.Name))
                    {
                        throw Invalid($"node '{node.Name}' ({node.OpType}) gives its attribute '{attribute.Name}' twice");
                    }
                }
            }
        }

        // An attribute of another type than the operator's is refused, as ONNX Runtime refuses it ("Mismatched attribute
        // type"): reading the other field gave 0 (a FLOAT transB of 1 read as not transposed, an INT alpha as 0).
        private float Attribute(NodeProto node, string name, float fallback) =>
            node.Attribute.FirstOrDefault(a => a.Name == name) is not { } a ? fallback
            : a.Type == AttributeProto.Types.AttributeType.Float ? a.F
            : throw Invalid($"node '{node.Name}' ({node.OpType}): attribute '{name}' is of type {a.Type}, not FLOAT");

        private long Attribute(NodeProto node, string name, long fallback) =>
            node.Attribute.FirstOrDefault(a => a.Name == name) is not { } a ? fallback
            : a.Type == AttributeProto.Types.AttributeType.Int ? a.I
            : throw Invalid($"node '{node.Name}' ({node.OpType}): attribute '{name}' is of type {a.Type}, not INT");

        // The exporter names a dense layer's node "<layer>/Gemm"; other producers' node names are kept if they are usable.
        private static string? LayerName(NodeProto node) =>
            Usable(node.Name.EndsWith("/Gemm", StringComparison.Ordinal) ? node.Name[..^5] : node.Name);

        private static string? Usable(string name) =>
            name.Length is > 0 and <= 256 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.') ? name : null;

        // Node, tensor and operator names come from the file: printed raw, their escape sequences could clear a terminal
        // or forge lines of a log, so every message is made printable whole.
        private InvalidDataException Invalid(string problem) => new(Names.Printable($"{file}: {problem}."));

        private NotSupportedException Unsupported(NodeProto node, string problem) =>
            new(Names.Printable($"{file}: node '{node.Name}' ({node.OpType}) cannot be read: {problem}."));
    }
}
