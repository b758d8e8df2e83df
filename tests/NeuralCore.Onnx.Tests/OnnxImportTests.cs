using System.Text.Json;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using NeuralCore.Layers;
using NeuralCore.Models;
using NeuralCore.Onnx.Schema;

namespace NeuralCore.Onnx.Tests;

public sealed class OnnxImportTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("neuralcore-onnx-import-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    // Exports whose ONNX form is a composition of operators (Where, Erf, …) rather than one layer's operator.
    private static readonly Dictionary<string, string> NotImportable = new()
    {
        ["relu threshold"] = "GreaterOrEqual",
        ["relu all options"] = "GreaterOrEqual",
        ["relu max_value at threshold"] = "GreaterOrEqual",
    };

    public static TheoryData<string> LayerCases => [.. OnnxExportTests.Cases.Keys];

    [Theory]
    [MemberData(nameof(LayerCases))]
    public void What_the_exporter_writes_reads_back_to_the_same_predictions(string name)
    {
        var model = new Sequential(6, seed: 11);
        foreach (ILayer layer in OnnxExportTests.Cases[name]())
        {
            model.Add(layer);
        }

        var random = new Random(5);
        Span<float> parameters = model.Parameters.Span;
        for (int i = 0; i < parameters.Length; i++)
        {
            parameters[i] = (float)((random.NextDouble() * 2) - 1);
        }

        byte[] onnx = model.ToOnnx();
        if (NotImportable.TryGetValue(name, out string? op))
        {
            var e = Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(onnx, "case.onnx"));
            Assert.Contains($"({op}) cannot be read", e.Message, StringComparison.Ordinal);
            return;
        }

        Sequential imported = OnnxImport.FromOnnx(onnx, "case.onnx");
        Assert.Equal(model.InputSize, imported.InputSize);
        Assert.Equal(model.OutputSize, imported.OutputSize);
        // A layer normalization without scale is written with a γ of ones (the operator needs one), read back as a γ.
        int ones = model.Layers.OfType<LayerNormalization>().Where(l => !l.Scale).Sum(l => l.InputSize);
        Assert.Equal(model.ParameterCount + ones, imported.ParameterCount);
        const int Count = 64;
        float[] inputs = [.. Enumerable.Range(0, Count * 6).Select(_ => (float)((random.NextDouble() * 4) - 2))];
        float[] expected = new float[Count * model.OutputSize], actual = new float[Count * model.OutputSize];
        model.Infer(inputs, expected, Count);
        imported.Infer(inputs, actual, Count);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void A_model_exported_by_pytorch_predicts_what_pytorch_computed()
    {
        // torch_mlp.py: Flatten, Gemm with transB = 1, MatMul without bias, Relu, Tanh, LeakyRelu, Sigmoid, Softmax.
        string fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures");
        Sequential model = OnnxImport.Load(Path.Combine(fixtures, "torch_mlp.onnx"));
        using JsonDocument golden = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(fixtures, "torch_mlp.json")));
        float[][] inputs = [.. golden.RootElement.GetProperty("inputs").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetSingle()).ToArray())];
        float[][] outputs = [.. golden.RootElement.GetProperty("outputs").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetSingle()).ToArray())];
        Assert.Equal(12, model.InputSize);
        Assert.Equal(4, model.OutputSize);
        Assert.Equal((12 * 9) + 9 + (9 * 7) + 7 + (7 * 6) + (6 * 5) + 5 + (5 * 4) + 4, model.ParameterCount);
        float[] actual = new float[inputs.Length * 4];
        model.Infer([.. inputs.SelectMany(r => r)], actual, inputs.Length);
        float[] expected = [.. outputs.SelectMany(r => r)];
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6, $"output {i}: {actual[i]} where PyTorch computed {expected[i]}");
        }
    }

    [Fact]
    public void Gelu_and_its_approximation_as_pytorch_exports_them_at_opset_13_predict_what_pytorch_computed()
    {
        // torch_gelu.py: Linear, GELU (Div by √2, Erf, Add 1, Mul by x, Mul by ½), Linear, GELU tanh (x·x·x, the constants
        // first), Linear.
        string fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures");
        Sequential model = OnnxImport.Load(Path.Combine(fixtures, "torch_gelu.onnx"));
        Assert.Equal([typeof(Dense), typeof(Gelu), typeof(Dense), typeof(Gelu), typeof(Dense)], model.Layers.Select(l => l.GetType()));
        Assert.Equal([false, true], model.Layers.OfType<Gelu>().Select(g => g.Approximate));
        AssertPredictsWhatPytorchComputed(model, "torch_gelu.json");
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("none", false)]
    [InlineData("tanh", true)]
    public void Opset_20s_gelu_operator_reads_as_gelu(string? approximate, bool expected)
    {
        ModelProto proto = ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(3)).Add(new Relu()).ToOnnx());
        NodeProto node = proto.Graph.Node.Single(n => n.OpType == "Relu");
        (node.OpType, node.Name) = ("Gelu", "g");
        proto.OpsetImport.Single().Version = 20;
        if (approximate is not null)
        {
            node.Attribute.Add(new AttributeProto { Name = "approximate", Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(approximate) });
        }

        var gelu = Assert.IsType<Gelu>(OnnxImport.FromOnnx(proto.ToByteArray(), "gelu.onnx").Layers[1]);
        Assert.Equal((expected, "g"), (gelu.Approximate, gelu.Name));
    }

    [Fact]
    public void A_gelu_operator_of_another_approximation_is_refused_by_name()
    {
        ModelProto proto = ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(3)).Add(new Relu()).ToOnnx());
        NodeProto node = proto.Graph.Node.Single(n => n.OpType == "Relu");
        (node.OpType, node.Name) = ("Gelu", "g");
        proto.OpsetImport.Single().Version = 20;
        node.Attribute.Add(new AttributeProto { Name = "approximate", Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8("sigmoid") });
        var e = Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "gelu.onnx"));
        Assert.Contains("node 'g' (Gelu) cannot be read: its attribute approximate is 'sigmoid', where ONNX defines 'none' and 'tanh'", e.Message, StringComparison.Ordinal);

        node.Attribute[0] = new AttributeProto { Name = "approximate", Type = AttributeProto.Types.AttributeType.Int, I = 1 };
        var invalid = Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "gelu.onnx"));
        Assert.Contains("attribute 'approximate' is of type Int, not STRING", invalid.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_gelu_composition_reads_back_in_another_order_of_nodes_and_operands(bool approximate)
    {
        // The exporter's composition with its nodes reversed and every Mul's and Add's operands swapped, and for the
        // approximation x³ as one Pow: still a GELU, predicting what the model did.
        var model = new Sequential(4, seed: 2).Add(new Dense(5)).Add(new Gelu(approximate, name: "act")).Add(new Dense(2));
        ModelProto proto = ModelProto.Parser.ParseFrom(model.ToOnnx());
        List<NodeProto> composition = [.. proto.Graph.Node.Where(n => n.Name.StartsWith("act/", StringComparison.Ordinal))];
        int at = proto.Graph.Node.IndexOf(composition[0]);
        if (approximate)
        {
            // x·x, then ·x: one Pow(x, 3) under the second's output name.
            NodeProto square = composition[0], cube = composition[1];
            proto.Graph.Initializer.Add(new TensorProto { Name = "three", DataType = 1, FloatData = { 3f } });
            var pow = new NodeProto { Name = "act/Pow", OpType = "Pow", Input = { square.Input[0], "three" }, Output = { cube.Output[0] } };
            composition.RemoveRange(0, 2);
            composition.Insert(0, pow);
        }

        foreach (NodeProto node in composition.Where(n => n.OpType is "Mul" or "Add"))
        {
            (node.Input[0], node.Input[1]) = (node.Input[1], node.Input[0]);
        }

        composition.Reverse();
        foreach (NodeProto node in proto.Graph.Node.Where(n => n.Name.StartsWith("act/", StringComparison.Ordinal)).ToList())
        {
            proto.Graph.Node.Remove(node);
        }

        for (int i = 0; i < composition.Count; i++)
        {
            proto.Graph.Node.Insert(at + i, composition[i]);
        }

        Sequential imported = OnnxImport.FromOnnx(proto.ToByteArray(), "order.onnx");
        var gelu = Assert.IsType<Gelu>(imported.Layers[1]);
        Assert.Equal((approximate, "act"), (gelu.Approximate, gelu.Name));
        float[] inputs = Seeded(40, 3), expected = new float[20], actual = new float[20];
        model.Infer(inputs, expected, 10);
        imported.Infer(inputs, actual, 10);
        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData(false, "act/inv_sqrt_2", 0.7f, "Erf")]
    [InlineData(false, "act/one", 2f, "Erf")]
    [InlineData(false, "act/half", 0.25f, "Erf")]
    [InlineData(true, "act/c", 0.045f, "Mul")]
    [InlineData(true, "act/sqrt_2_over_pi", 0.8f, "Mul")]
    public void A_composition_with_another_constant_is_not_a_gelu(bool approximate, string constant, float value, string refused)
    {
        // A constant off by more than rounding: no GELU, and the nodes are refused as any others (the exact form's first
        // Mul reads as a Rescaling, then its Erf is what no layer here reads).
        ModelProto proto = ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(3)).Add(new Gelu(approximate, name: "act")).ToOnnx());
        TensorProto tensor = proto.Graph.Initializer.Single(t => t.Name == constant);
        tensor.FloatData.Clear();
        tensor.RawData = ByteString.CopyFrom(BitConverter.GetBytes(value));
        var e = Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "near.onnx"));
        Assert.Contains($"({refused}) cannot be read", e.Message, StringComparison.Ordinal);
    }

    // The fixture's inputs through the model: every output within 1e-5 (relative beyond 1) of what PyTorch computed.
    private static void AssertPredictsWhatPytorchComputed(Sequential model, string fixture)
    {
        using JsonDocument golden = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", fixture)));
        float[] inputs = [.. golden.RootElement.GetProperty("inputs").EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => v.GetSingle()))];
        float[] expected = [.. golden.RootElement.GetProperty("outputs").EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => v.GetSingle()))];
        float[] actual = new float[expected.Length];
        model.Infer(inputs, actual, inputs.Length / model.InputSize);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"output {i}: {actual[i]} where PyTorch computed {expected[i]}");
        }
    }

    private static float[] Seeded(int count, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 8) - 4))];
    }

    [Fact]
    public void A_layer_normalization_exported_by_pytorch_at_opset_17_predicts_what_pytorch_computed()
    {
        // torch_layernorm.py: Gemm, LayerNormalization (eps 1e-4, a scale and a bias of its own), Relu, Gemm.
        string fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures");
        Sequential model = OnnxImport.Load(Path.Combine(fixtures, "torch_layernorm.onnx"));
        var norm = Assert.IsType<LayerNormalization>(model.Layers[1]);
        Assert.Equal((1e-4f, true, true, 16), (norm.Epsilon, norm.Center, norm.Scale, norm.ParameterCount));
        AssertPredictsWhatPytorchComputed(model, "torch_layernorm.json");
    }

    [Fact]
    public void Every_activation_as_pytorch_exports_it_at_opset_13_predicts_what_pytorch_computed()
    {
        // torch_activations.py: twelve Linear + activation pairs, then Linear and Softmax; Softsign comes as Abs, Add of a
        // Constant 1 and Div, Hardswish as HardSigmoid and Mul, Mish as Softplus, Tanh and Mul, ReLU6 as Clip of Constants.
        string fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures");
        Sequential model = OnnxImport.Load(Path.Combine(fixtures, "torch_activations.onnx"));
        Assert.Equal(
            [typeof(Softsign), typeof(HardSilu), typeof(Mish), typeof(Silu), typeof(Relu), typeof(Elu), typeof(Selu), typeof(HardSigmoid),
                typeof(LeakyRelu), typeof(Softplus), typeof(Tanh), typeof(Sigmoid), typeof(Softmax)],
            model.Layers.Where(l => l is not Dense).Select(l => l.GetType()));
        AssertPredictsWhatPytorchComputed(model, "torch_activations.json");
    }

    [Theory]
    [InlineData(2f, "")]
    [InlineData(1f, "div")]
    [InlineData(1f, "abs")]
    public void An_abs_add_div_that_is_not_softsign_is_refused(float constant, string change)
    {
        // Abs, Add of a constant, Div: Softsign only with the constant 1 and the input divided by |input| + 1.
        ModelProto proto = ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(3)).Add(new Softsign()).ToOnnx());
        NodeProto softsign = proto.Graph.Node.Single(n => n.OpType == "Softsign");
        string x = softsign.Input[0];
        proto.Graph.Initializer.Add(new TensorProto { Name = "one", DataType = 1, FloatData = { constant } });
        var abs = new NodeProto { Name = "abs", OpType = "Abs", Input = { x }, Output = { "abs_out" } };
        var add = new NodeProto { Name = "add", OpType = "Add", Input = { "one", change == "abs" ? x : "abs_out" }, Output = { "add_out" } };
        var div = new NodeProto { Name = "div", OpType = "Div", Input = { change == "div" ? "abs_out" : x, "add_out" }, Output = { softsign.Output[0] } };
        int at = proto.Graph.Node.IndexOf(softsign);
        proto.Graph.Node[at] = abs;
        proto.Graph.Node.Insert(at + 1, add);
        proto.Graph.Node.Insert(at + 2, div);
        var e = Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "abs.onnx"));
        Assert.Contains("node 'abs' (Abs) cannot be read", e.Message, StringComparison.Ordinal);

        if (constant == 2f)
        {
            // The same nodes with the constant 1 are Softsign (the constant first, as above).
            proto.Graph.Initializer.Single(t => t.Name == "one").FloatData[0] = 1f;
            Assert.IsType<Softsign>(OnnxImport.FromOnnx(proto.ToByteArray(), "softsign.onnx").Layers[1]);
        }
    }

    [Fact]
    public void A_layer_normalization_over_another_axis_or_with_extra_outputs_is_refused_by_name()
    {
        ModelProto Proto() => ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(3)).Add(new LayerNormalization(name: "ln")).ToOnnx());
        NodeProto Node(ModelProto proto) => proto.Graph.Node.Single(n => n.OpType == "LayerNormalization");

        ModelProto axis = Proto();
        Node(axis).Attribute.Single(a => a.Name == "axis").I = 0;
        var e = Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(axis.ToByteArray(), "axis.onnx"));
        Assert.Contains("node 'ln' (LayerNormalization) cannot be read: it normalizes from axis 0", e.Message, StringComparison.Ordinal);

        ModelProto extra = Proto();
        Node(extra).Output.Add("mean");
        e = Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(extra.ToByteArray(), "extra.onnx"));
        Assert.Contains("also outputs its mean", e.Message, StringComparison.Ordinal);

        ModelProto wrong = Proto();
        TensorProto beta = wrong.Graph.Initializer.Single(t => t.Name == "ln/beta");
        beta.Dims[0] = 2;
        beta.RawData = Google.Protobuf.ByteString.CopyFrom(new byte[8]);
        Assert.Contains("(LayerNormalization) reads 3 features, but its input 'ln/beta' holds 2 values",
            Assert.ThrowsAny<Exception>(() => OnnxImport.FromOnnx(wrong.ToByteArray(), "wrong.onnx")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_layer_normalization_in_a_file_of_an_earlier_opset_is_read_as_onnx_runtime_reads_it()
    {
        // The operator entered the standard at opset 17, so the ONNX checker refuses it in an opset-13 file; but ONNX
        // Runtime registers its former contrib kernel under the ONNX domain for versions 1-16 (with the same axis,
        // epsilon and float statistics), and its transformer optimizer writes such nodes into opset 12-14 models.
        var model = new Sequential(4, seed: 3).Add(new Dense(3)).Add(new LayerNormalization(0.01f, name: "ln")).Add(new Dense(2));
        ModelProto proto = ModelProto.Parser.ParseFrom(model.ToOnnx());
        proto.OpsetImport.Single(o => o.Domain is "" or "ai.onnx").Version = 13;
        Sequential read = OnnxImport.FromOnnx(proto.ToByteArray(), "bert-style.onnx");
        float[] input = [0.5f, -1f, 2f, 0.25f];
        Assert.Equal(model.Predict(input), read.Predict(input));
    }

    [Theory]
    [InlineData(6, "opset 6 is older than this reader supports (7 or later)")]
    [InlineData(OnnxImport.MaxOpset + 1, "opset 27 is newer than this reader knows (7 to 26); export the model at opset 26 or earlier")]
    [InlineData(0, "it declares no version of the standard operators")]
    public void A_file_of_an_opset_the_reader_does_not_know_is_refused_by_its_version(int version, string message)
    {
        // A later opset was read as if its operators meant what they mean now, and a file declaring none was read too.
        var model = new Sequential(4, seed: 3).Add(new Dense(3)).Add(new Relu()).Add(new Dense(2));
        ModelProto proto = ModelProto.Parser.ParseFrom(model.ToOnnx());
        OperatorSetIdProto opset = proto.OpsetImport.Single(o => o.Domain is "" or "ai.onnx");
        if (version == 0)
        {
            proto.OpsetImport.Remove(opset);
        }
        else
        {
            opset.Version = version;
        }

        Exception e = Assert.ThrowsAny<Exception>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "other.onnx"));
        Assert.IsType(version == 0 ? typeof(InvalidDataException) : typeof(NotSupportedException), e);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);

        // The newest opset it knows reads as the one written.
        opset.Version = OnnxImport.MaxOpset;
        if (version == 0)
        {
            proto.OpsetImport.Add(opset);
        }

        float[] input = [0.5f, -1f, 2f, 0.25f];
        Assert.Equal(model.Predict(input), OnnxImport.FromOnnx(proto.ToByteArray(), "newest.onnx").Predict(input));
    }

    [Theory]
    [InlineData("norm/mean", new long[] { 3, 1 }, false)]
    [InlineData("norm/std", new long[] { 3, 1 }, false)]
    [InlineData("norm/mean", new long[] { 1, 1, 3 }, false)]
    [InlineData("norm/std", new long[] { 1, 3 }, true)]
    public void A_standardization_pair_reads_only_constants_of_one_value_per_feature(string tensor, long[] dims, bool readable)
    {
        // ONNX broadcasts a [3, 1] constant against [batch, 3] into [3, 3]: not a normalization, though it holds three values.
        var model = new Sequential(3, seed: 1).Add(new Normalization([1f, 2f, 3f], [4f, 9f, 16f], name: "norm"));
        ModelProto proto = ModelProto.Parser.ParseFrom(model.ToOnnx());
        TensorProto constant = proto.Graph.Initializer.Single(i => i.Name == tensor);
        constant.Dims.Clear();
        constant.Dims.Add(dims);
        if (readable)
        {
            Assert.Equal(model.Predict([10f, 20f, 30f]), OnnxImport.FromOnnx(proto.ToByteArray(), "pair.onnx").Predict([10f, 20f, 30f]));
            return;
        }

        var e = Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "pair.onnx"));
        Assert.Contains("(a normalization has one value per feature, [3] or [1, 3])", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new long[0], 3, true)]
    [InlineData(new long[] { 1 }, 3, true)]
    [InlineData(new long[] { 1 }, 1, false)]
    public void A_multiplication_by_a_scalar_and_an_added_scalar_read_as_a_rescaling(long[] dims, int features, bool rescaling)
    {
        // Keras's Rescaling as converters write it (scalars of shape [] or [1]); over one feature a [1] constant is a
        // per-feature one, and the pair stays a Normalization, as it read before Rescaling existed.
        var model = new Sequential(features, seed: 1).Add(new Rescaling(1f / 255, offset: -0.5f)).Add(new Dense(2));
        ModelProto proto = ModelProto.Parser.ParseFrom(model.ToOnnx());
        foreach (TensorProto constant in proto.Graph.Initializer.Where(i => i.Name.StartsWith("rescaling/", StringComparison.Ordinal)))
        {
            constant.Dims.Clear();
            constant.Dims.Add(dims);
        }

        Sequential read = OnnxImport.FromOnnx(proto.ToByteArray(), "scaled.onnx");
        Assert.Equal(rescaling, read.Layers[0] is Rescaling);
        Assert.Equal(rescaling, read.Layers[0] is not NeuralCore.Layers.Normalization);
        float[] pixels = [.. Enumerable.Range(0, features).Select(i => 100f + (60 * i))];
        Assert.Equal(model.Predict(pixels), read.Predict(pixels));
        if (rescaling)
        {
            var layer = (Rescaling)read.Layers[0];
            Assert.Equal((1f / 255, -0.5f), (layer.Scale, layer.Offset));
            Assert.Equal("rescaling", layer.Name);
        }
    }

    [Fact]
    public void A_clip_from_before_opset_11_with_attribute_bounds_is_a_capped_relu()
    {
        ModelProto proto = ModelProto.Parser.ParseFrom(new Sequential(3).Add(new Dense(2)).Add(new Relu { MaxValue = 0.5f }).ToOnnx());
        NodeProto clip = proto.Graph.Node.Single(n => n.OpType == "Clip");
        clip.Input.RemoveAt(2);
        clip.Input.RemoveAt(1);
        clip.Attribute.Add(new AttributeProto { Name = "min", F = 0f, Type = AttributeProto.Types.AttributeType.Float });
        clip.Attribute.Add(new AttributeProto { Name = "max", F = 0.5f, Type = AttributeProto.Types.AttributeType.Float });
        Sequential model = OnnxImport.FromOnnx(proto.ToByteArray());
        Assert.Equal(0.5f, Assert.IsType<Relu>(model.Layers[1]).MaxValue);
    }

    [Fact]
    public void Attributes_of_the_wrong_type_and_nodes_of_other_domains_are_refused_by_name()
    {
        // Both loaded as other models before (an INT alpha read as 0, a FLOAT transB as not transposed, a custom-domain
        // Relu as ONNX's), where ONNX Runtime refuses them.
        ModelProto Proto() => ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(4)).Add(new LeakyRelu(0.2f)).ToOnnx());
        ModelProto intAlpha = Proto();
        NodeProto leaky = intAlpha.Graph.Node.Single(n => n.OpType == "LeakyRelu");
        leaky.Attribute.Clear();
        leaky.Attribute.Add(new AttributeProto { Name = "alpha", I = 1, Type = AttributeProto.Types.AttributeType.Int });
        var ex = Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(intAlpha.ToByteArray(), "alpha.onnx"));
        Assert.Contains("alpha.onnx: node '", ex.Message, StringComparison.Ordinal);
        Assert.Contains("attribute 'alpha' is of type Int, not FLOAT", ex.Message, StringComparison.Ordinal);

        ModelProto floatTrans = Proto();
        NodeProto gemm = floatTrans.Graph.Node.Single(n => n.OpType == "Gemm");
        gemm.Attribute.Add(new AttributeProto { Name = "transB", F = 1f, Type = AttributeProto.Types.AttributeType.Float });
        ex = Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(floatTrans.ToByteArray(), "trans.onnx"));
        Assert.Contains("attribute 'transB' is of type Float, not INT", ex.Message, StringComparison.Ordinal);

        ModelProto custom = Proto();
        custom.Graph.Node.Single(n => n.OpType == "LeakyRelu").Domain = "com.example";
        var unsupported = Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(custom.ToByteArray(), "custom.onnx"));
        Assert.Contains("its domain 'com.example' is not the standard operators'", unsupported.Message, StringComparison.Ordinal);

        // A custom-domain Add after a MatMul is no bias of it: it reaches the reader on its own, and is refused.
        ModelProto matMul = ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(3)).ToOnnx());
        NodeProto dense = matMul.Graph.Node.Single(n => n.OpType == "Gemm");
        int at = matMul.Graph.Node.IndexOf(dense);
        matMul.Graph.Node[at] = new NodeProto { OpType = "MatMul", Name = "matmul", Input = { dense.Input[0], dense.Input[1] }, Output = { "product" } };
        matMul.Graph.Node.Insert(at + 1, new NodeProto { OpType = "Add", Name = "bias", Domain = "com.example", Input = { "product", dense.Input[2] }, Output = { dense.Output[0] } });
        unsupported = Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(matMul.ToByteArray(), "add.onnx"));
        Assert.Contains("(Add) cannot be read: its domain 'com.example'", unsupported.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("LeakyRelu", "beta")]
    [InlineData("Gemm", "broadcast")]
    [InlineData("Softmax", "dim")]
    [InlineData("Relu", "alpha")]
    public void Attributes_the_operator_does_not_define_are_refused_as_onnx_runtime_refuses_them(string op, string attribute)
    {
        // Ignored before: a file written for another runtime or operator version read as a model that computes
        // something else.
        ModelProto proto = ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(4)).Add(new LeakyRelu(0.2f)).Add(new Dense(3))
            .Add(new Relu()).Add(new Dense(2)).Add(new Softmax()).ToOnnx());
        NodeProto node = proto.Graph.Node.First(n => n.OpType == op);
        node.Attribute.Add(new AttributeProto { Name = attribute, I = 1, Type = AttributeProto.Types.AttributeType.Int });
        Assert.ThrowsAny<OnnxRuntimeException>(() => new InferenceSession(proto.ToByteArray()).Dispose());
        var ex = Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "extra.onnx"));
        Assert.Contains($"extra.onnx: node '{node.Name}' ({op}) has an attribute '{attribute}', which the operator does not define", ex.Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void An_attribute_given_twice_is_refused()
    {
        ModelProto proto = ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(4)).Add(new LeakyRelu(0.2f)).ToOnnx());
        NodeProto leaky = proto.Graph.Node.Single(n => n.OpType == "LeakyRelu");
        leaky.Attribute.Add(new AttributeProto { Name = "alpha", F = 0.5f, Type = AttributeProto.Types.AttributeType.Float });
        Assert.Contains($"node '{leaky.Name}' (LeakyRelu) gives its attribute 'alpha' twice",
            Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "twice.onnx")).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_matmuls_bias_add_reads_the_same_with_its_operands_either_way_round(bool biasFirst)
    {
        // Add commutes: `b + x @ W` exports as Add(bias, product), which was refused as not a chain.
        var model = new Sequential(4, seed: 3).Add(new Dense(3, Activation.Relu)).Add(new Dense(2));
        ModelProto proto = ModelProto.Parser.ParseFrom(model.ToOnnx());
        NodeProto gemm = proto.Graph.Node.First(n => n.OpType == "Gemm");
        int at = proto.Graph.Node.IndexOf(gemm);
        proto.Graph.Node[at] = new NodeProto { OpType = "MatMul", Name = "matmul", Input = { gemm.Input[0], gemm.Input[1] }, Output = { "product" } };
        proto.Graph.Node.Insert(at + 1, new NodeProto
        {
            OpType = "Add",
            Name = "bias",
            Input = { biasFirst ? gemm.Input[2] : "product", biasFirst ? "product" : gemm.Input[2] },
            Output = { gemm.Output[0] },
        });

        Sequential read = OnnxImport.FromOnnx(proto.ToByteArray(), "matmul.onnx");
        float[] x = [0.5f, -1f, 2f, 0.25f, 1.5f, 0f, -0.75f, 3f];
        float[] expected = new float[4], actual = new float[4];
        model.Predict(x, expected, 2);
        read.Predict(x, actual, 2);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Batch_normalizations_the_library_cannot_compute_are_refused_by_name()
    {
        ModelProto Proto() => ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(3)).Add(new BatchNormalization(name: "bn")).ToOnnx());
        NodeProto Node(ModelProto proto) => proto.Graph.Node.Single(n => n.OpType == "BatchNormalization");

        ModelProto training = Proto();
        Node(training).Attribute.Add(new AttributeProto { Name = "training_mode", I = 1, Type = AttributeProto.Types.AttributeType.Int });
        Assert.Contains("training mode (training_mode = 1)",
            Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(training.ToByteArray(), "t.onnx")).Message, StringComparison.Ordinal);

        ModelProto negative = Proto();
        TensorProto variance = negative.Graph.Initializer.Single(t => t.Name == Node(negative).Input[4]);
        negative.Graph.Initializer[negative.Graph.Initializer.IndexOf(variance)] =
            new TensorProto { Name = variance.Name, DataType = (int)TensorProto.Types.DataType.Float, Dims = { 3 }, FloatData = { 1f, -0.5f, 1f } };

        // The export refuses such a layer too (ONNX Runtime would give that feature NaN).
        var withNegative = new Sequential(4).Add(new Dense(3)).Add(new BatchNormalization(name: "bn"));
        ((BatchNormalization)withNegative.Layers[1]).MovingVariance.Span[1] = -0.5f;
        Assert.Contains("feature 1's running mean 0 or variance -0.5",
            Assert.Throws<ArgumentException>(() => withNegative.ToOnnx()).Message, StringComparison.Ordinal);
        Assert.Contains("has value 1 = -0.5, where a variance must not be negative",
            Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(negative.ToByteArray(), "v.onnx")).Message, StringComparison.Ordinal);

        ModelProto shortMean = Proto();
        TensorProto mean = shortMean.Graph.Initializer.Single(t => t.Name == Node(shortMean).Input[3]);
        shortMean.Graph.Initializer[shortMean.Graph.Initializer.IndexOf(mean)] =
            new TensorProto { Name = mean.Name, DataType = (int)TensorProto.Types.DataType.Float, Dims = { 2 }, FloatData = { 0f, 0f } };
        Assert.Contains("reads 3 features, but its input",
            Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(shortMean.ToByteArray(), "m.onnx")).Message, StringComparison.Ordinal);

        ModelProto empty = Proto();
        Node(empty).Input[2] = "";
        Assert.Contains("left empty",
            Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(empty.ToByteArray(), "e.onnx")).Message, StringComparison.Ordinal);

        ModelProto epsilon = Proto();
        Node(epsilon).Attribute.Single(a => a.Name == "epsilon").F = 0f;
        string message = Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(epsilon.ToByteArray(), "eps.onnx")).Message;
        Assert.Contains("epsilon", message, StringComparison.Ordinal);
        Assert.DoesNotContain("?", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_prelu_reads_slopes_that_broadcast_per_feature_or_as_one_and_refuses_others()
    {
        ModelProto Proto(bool shared) => ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(3)).Add(new PRelu(0.3f, shared, name: "act")).ToOnnx());
        TensorProto Slope(ModelProto proto) => proto.Graph.Initializer.Single(t => t.Name == proto.Graph.Node.Single(n => n.OpType == "PRelu").Input[1]);

        // [1, 3] and a scalar broadcast as ONNX Runtime broadcasts them: per feature, and one for all.
        ModelProto row = Proto(shared: false);
        Slope(row).Dims.Clear();
        Slope(row).Dims.AddRange([1, 3]);
        var perFeature = (PRelu)OnnxImport.FromOnnx(row.ToByteArray(), "row.onnx").Layers[1];
        Assert.Equal((false, "act"), (perFeature.SharedAlpha, perFeature.Name));
        Assert.Equal([0.3f, 0.3f, 0.3f], perFeature.Alpha.ToArray());

        ModelProto scalar = Proto(shared: true);
        Slope(scalar).Dims.Clear();
        var shared = (PRelu)OnnxImport.FromOnnx(scalar.ToByteArray(), "scalar.onnx").Layers[1];
        Assert.True(shared.SharedAlpha);
        Assert.Equal([0.3f], shared.Alpha.ToArray());

        // On one feature a shared slope and a per-feature one hold one value each; the shared one is written as a scalar,
        // so each reads back as what it was (both were read as per-feature when the shared one was written as [1]).
        foreach (bool sharing in new[] { true, false })
        {
            byte[] file = new Sequential(4).Add(new Dense(1)).Add(new PRelu(0.3f, sharing, name: "one")).ToOnnx();
            var read = (PRelu)OnnxImport.FromOnnx(file, "one.onnx").Layers[1];
            Assert.Equal((sharing, 1), (read.SharedAlpha, read.ParameterCount));
        }

        // A column [3, 1] would broadcast against the batch, not the features.
        ModelProto column = Proto(shared: false);
        Slope(column).Dims.Clear();
        Slope(column).Dims.AddRange([3, 1]);
        Assert.Contains("(PRelu) cannot be read: its slope 'act/alpha' is shaped [3, 1], where the library's layer takes one slope per feature ([3]) or one for all ([1])",
            Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(column.ToByteArray(), "column.onnx")).Message, StringComparison.Ordinal);

        // A [1, 1, 3] slope broadcasts the output to rank 3, no [batch, features] tensor.
        ModelProto deep = Proto(shared: false);
        Slope(deep).Dims.Clear();
        Slope(deep).Dims.AddRange([1, 1, 3]);
        Assert.Contains("its slope 'act/alpha' is shaped [1, 1, 3]",
            Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(deep.ToByteArray(), "deep.onnx")).Message, StringComparison.Ordinal);

        ModelProto nan = Proto(shared: false);
        float[] bad = [0.3f, float.NaN, 0.3f];
        Slope(nan).RawData = Google.Protobuf.ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(bad.AsSpan()));
        Assert.Contains("has value 1 = NaN",
            Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(nan.ToByteArray(), "nan.onnx")).Message, StringComparison.Ordinal);

        ModelProto computed = Proto(shared: false);
        computed.Graph.Node.Single(n => n.OpType == "PRelu").Input[1] = "output_of_nothing";
        Assert.Contains("is not an initializer",
            Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(computed.ToByteArray(), "computed.onnx")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_silu_written_as_sigmoid_times_input_reads_back_in_either_order()
    {
        ModelProto proto = ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(3)).Add(new Silu()).ToOnnx());
        NodeProto mul = proto.Graph.Node.Single(n => n.OpType == "Mul");
        (mul.Input[0], mul.Input[1]) = (mul.Input[1], mul.Input[0]);
        Sequential model = OnnxImport.FromOnnx(proto.ToByteArray(), "silu.onnx");
        Assert.IsType<Silu>(model.Layers[1]);
    }

    [Fact]
    public void Softsign_hard_sigmoid_hard_silu_and_mish_read_back_as_written_and_as_pytorch_writes_them()
    {
        var model = new Sequential(4, seed: 3).Add(new Dense(6)).Add(new Softsign()).Add(new Dense(6)).Add(new HardSigmoid())
            .Add(new Dense(6)).Add(new HardSilu()).Add(new Dense(6)).Add(new Mish()).Add(new Dense(2));
        float[] x = [.. Enumerable.Range(0, 40).Select(i => (float)Math.Sin(i) * 4)];
        float[] expected = new float[20];
        model.Infer(x, expected, 10);

        Sequential read = OnnxImport.FromOnnx(model.ToOnnx(), "new.onnx");
        Assert.Equal([typeof(Softsign), typeof(HardSigmoid), typeof(HardSilu), typeof(Mish)],
            read.Layers.Where(l => l is not Dense).Select(l => l.GetType()));
        float[] actual = new float[20];
        read.Infer(x, actual, 10);
        Assert.Equal(expected, actual);

        // PyTorch 1.13 at opset 13 writes Hardswish as HardSigmoid (alpha 1/6 as float, beta left at its default) times x.
        ModelProto proto = ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(3)).Add(new HardSilu()).ToOnnx());
        NodeProto swish = proto.Graph.Node.Single(n => n.OpType == "HardSwish");
        var hard = new NodeProto { Name = "hs", OpType = "HardSigmoid", Input = { swish.Input[0] }, Output = { "hs_out" } };
        hard.Attribute.Add(new AttributeProto { Name = "alpha", Type = AttributeProto.Types.AttributeType.Float, F = 1f / 6 });
        var times = new NodeProto { Name = "mul", OpType = "Mul", Input = { "hs_out", swish.Input[0] }, Output = { swish.Output[0] } };
        int at = proto.Graph.Node.IndexOf(swish);
        proto.Graph.Node[at] = hard;
        proto.Graph.Node.Insert(at + 1, times);
        Assert.IsType<HardSilu>(OnnxImport.FromOnnx(proto.ToByteArray(), "torch13.onnx").Layers[1]);

        // Keras 2's (and ONNX's default) hard sigmoid, 0.2x + 0.5, is another function: refused by name.
        ModelProto keras2 = ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(3)).Add(new HardSigmoid(name: "hs")).ToOnnx());
        keras2.Graph.Node.Single(n => n.OpType == "HardSigmoid").Attribute.Single(a => a.Name == "alpha").F = 0.2f;
        Assert.Contains("(HardSigmoid) cannot be read: its alpha 0.2 and beta 0.5 are not the library's hard sigmoid",
            Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(keras2.ToByteArray(), "keras2.onnx")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Clip_bounds_given_as_constant_nodes_read_as_a_capped_relu()
    {
        // PyTorch writes ReLU6 and Hardtanh(0, 6) from opset 11 as Clip(x, Constant, Constant), the Constant nodes in the
        // chain: refused as "not reading the node before it", although the docs list Clip from 0.
        ModelProto proto = ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(3)).Add(new Relu { MaxValue = 6f }).Add(new Dense(2)).ToOnnx());
        NodeProto clip = proto.Graph.Node.Single(n => n.OpType == "Clip");
        int at = proto.Graph.Node.IndexOf(clip);
        foreach (int k in new[] { 2, 1 })
        {
            TensorProto bound = proto.Graph.Initializer.Single(t => t.Name == clip.Input[k]);
            proto.Graph.Initializer.Remove(bound);
            var constant = new NodeProto { Name = $"/Constant_{k}", OpType = "Constant", Output = { bound.Name } };
            constant.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = bound });
            proto.Graph.Node.Insert(at, constant);
        }

        Sequential read = OnnxImport.FromOnnx(proto.ToByteArray(), "relu6.onnx");
        Assert.Equal(6f, Assert.IsType<Relu>(read.Layers[1]).MaxValue);

        // Opset 12's value_float form of the same constants reads too.
        ModelProto floats = proto.Clone();
        foreach (NodeProto constant in floats.Graph.Node.Where(n => n.OpType == "Constant"))
        {
            float bound = constant.Attribute[0].T.FloatData.Count > 0 ? constant.Attribute[0].T.FloatData[0]
                : BitConverter.ToSingle(constant.Attribute[0].T.RawData.Span);
            constant.Attribute.Clear();
            constant.Attribute.Add(new AttributeProto { Name = "value_float", Type = AttributeProto.Types.AttributeType.Float, F = bound });
        }

        Assert.Equal(6f, Assert.IsType<Relu>(OnnxImport.FromOnnx(floats.ToByteArray(), "floats.onnx").Layers[1]).MaxValue);

        // A constant named like an initializer is two values under one name.
        ModelProto twice = proto.Clone();
        twice.Graph.Initializer.Add(new TensorProto { Name = clip.Input[1], DataType = 1, FloatData = { 0f } });
        Assert.Contains("the constant", Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(twice.ToByteArray(), "twice.onnx")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Batch_normalizations_in_training_mode_or_with_pytorchs_fixed_momentum_are_read_as_onnx_runtime_runs_them()
    {
        ModelProto Proto() => ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(3)).Add(new BatchNormalization(name: "bn")).ToOnnx());

        // Before opset 14, training mode is the batch statistics as extra outputs (PyTorch's training-mode export).
        ModelProto training = Proto();
        training.Graph.Node.Single(n => n.OpType == "BatchNormalization").Output.Add(["mean", "var", "saved_mean", "saved_var"]);
        Assert.Contains("it has 5 outputs, the batch statistics of training mode",
            Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(training.ToByteArray(), "train.onnx")).Message, StringComparison.Ordinal);

        // PyTorch merges equal initializers and reads the copy through Identity(initializer): a BatchNorm1d whose running
        // mean equals its bias (both 0 before training) was refused at that Identity node.
        ModelProto merged = Proto();
        NodeProto normalization = merged.Graph.Node.Single(n => n.OpType == "BatchNormalization");
        var alias = new NodeProto { Name = "Identity_0", OpType = "Identity", Input = { normalization.Input[2] }, Output = { "mean_copy" } };
        merged.Graph.Initializer.Remove(merged.Graph.Initializer.Single(t => t.Name == normalization.Input[3]));
        normalization.Input[3] = "mean_copy";
        merged.Graph.Node.Insert(0, alias);
        Assert.IsType<BatchNormalization>(OnnxImport.FromOnnx(merged.ToByteArray(), "merged.onnx").Layers[1]);

        // PyTorch's momentum=None or 0 is written as 1; inference ignores it, so the file reads.
        ModelProto fixedStatistics = Proto();
        fixedStatistics.Graph.Node.Single(n => n.OpType == "BatchNormalization").Attribute.Single(a => a.Name == "momentum").F = 1f;
        var layer = Assert.IsType<BatchNormalization>(OnnxImport.FromOnnx(fixedStatistics.ToByteArray(), "fixed.onnx").Layers[1]);
        Assert.True(layer.Momentum is > 0.9999f and < 1f);
    }

    [Fact]
    public void A_dropout_told_to_train_is_refused_and_two_node_patterns_without_an_output_are_invalid()
    {
        ModelProto Proto(ILayer layer) => ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(3)).Add(layer).Add(new Dense(2)).ToOnnx());

        // Dropout(x, ratio, training_mode = true) drops in ONNX Runtime; skipped, the file computed other values.
        ModelProto dropout = Proto(new Dropout(0.5f));
        NodeProto identity = dropout.Graph.Node.First(n => n.OpType == "Identity");
        identity.OpType = "Dropout";
        identity.Input.Add(["", "mode"]);
        var mode = new TensorProto { Name = "mode", DataType = (int)TensorProto.Types.DataType.Bool, Int32Data = { 1 } };
        dropout.Graph.Initializer.Add(mode);
        Assert.Contains("its training_mode input 'mode' is not a constant false",
            Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(dropout.ToByteArray(), "dropout.onnx")).Message, StringComparison.Ordinal);
        mode.Int32Data[0] = 0;
        Assert.Equal(2, OnnxImport.FromOnnx(dropout.ToByteArray(), "dropout.onnx").Layers.Count); // skipped, as inference skips it

        // MatMul then an Add with no output: an ArgumentOutOfRangeException from reading its output.
        var model = new Sequential(4).Add(new Dense(3));
        ModelProto matmul = ModelProto.Parser.ParseFrom(model.ToOnnx());
        NodeProto gemm = matmul.Graph.Node.Single(n => n.OpType == "Gemm");
        var add = new NodeProto { Name = "add", OpType = "Add", Input = { "t", gemm.Input[2] } };
        (gemm.OpType, gemm.Output[0]) = ("MatMul", "t");
        gemm.Input.RemoveAt(2);
        matmul.Graph.Node.Insert(1, add);
        Exception e = Record.Exception(() => OnnxImport.FromOnnx(matmul.ToByteArray(), "matmul.onnx"));
        Assert.True(e is NotSupportedException or InvalidDataException, $"{e?.GetType().Name}: {e?.Message}");
    }

    [Fact]
    public void Initializers_named_twice_are_refused_by_name()
    {
        // Two initializers of one name: the last was read without a word (ONNX requires names to be unique; which one
        // a reader takes is not defined).
        ModelProto twice = ModelProto.Parser.ParseFrom(new Sequential(3).Add(new Dense(2)).ToOnnx());
        TensorProto other = twice.Graph.Initializer[0].Clone();
        other.RawData = ByteString.CopyFrom(new byte[24]);
        twice.Graph.Initializer.Add(other);
        var e = Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(twice.ToByteArray(), "twice.onnx"));
        Assert.Equal($"twice.onnx: two initializers are named '{other.Name}'.", e.Message);
    }

    [Fact]
    public void Weights_in_an_external_file_are_refused_by_name()
    {
        // Weights in an external file were reported as "holds 0 values, not 6".
        ModelProto external = ModelProto.Parser.ParseFrom(new Sequential(3).Add(new Dense(2)).ToOnnx());
        TensorProto kernel = external.Graph.Initializer[0];
        kernel.RawData = ByteString.Empty;
        kernel.DataLocation = TensorProto.Types.DataLocation.External;
        kernel.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
        var ex = Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(external.ToByteArray(), "external.onnx"));
        Assert.Contains($"'{kernel.Name}' is stored in another file ('weights.bin'), which this reader does not read", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_small_file_whose_layers_share_weights_into_too_many_parameters_is_refused_before_allocating()
    {
        // Each node reading a shared initializer gets its own copy: 2,100 nodes of one [1024, 1024] weight (a 4 MB
        // file) were allocated layer by layer, 8 bytes a parameter, until Sequential.Add refused the 2,047th with an
        // ArgumentException that did not name the file (17 GB by then; under a 4 GB heap, an OutOfMemoryException).
        ModelProto proto = ModelProto.Parser.ParseFrom(new Sequential(1024).Add(new Dense(1024)).ToOnnx());
        RepeatFirstNode(proto, 2100);
        byte[] onnx = proto.ToByteArray();
        Assert.True(onnx.Length < 5 << 20);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(onnx, "shared.onnx"));
        Assert.StartsWith("shared.onnx: its dense layers would hold 2,205,209,600 parameters", e.Message, StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20, "layers were allocated before the file was refused");

        // The same weight in a Constant node, as PyTorch may write it: the total was summed before constants were read,
        // so it saw none and the file ran out of memory.
        TensorProto weight = proto.Graph.Initializer.Single(t => t.Name == proto.Graph.Node[0].Input[1]);
        proto.Graph.Initializer.Remove(weight);
        var constant = new NodeProto { Name = "w", OpType = "Constant", Output = { weight.Name } };
        constant.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = weight });
        proto.Graph.Node.Insert(0, constant);
        before = GC.GetAllocatedBytesForCurrentThread();
        e = Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "constant.onnx"));
        Assert.StartsWith("constant.onnx: its dense layers would hold 2,205,209,600 parameters", e.Message, StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20, "layers were allocated before the file was refused");
    }

    [Fact]
    public void Layers_that_read_their_stored_weights_over_and_over_are_refused_before_allocating()
    {
        // 2,000 nodes of one [1024, 1024] weight: 2.1e9 parameters, under one array's limit and (8 bytes each) under
        // the 23 GB of the machine it was tried on, where the import peaked at 19.8 GB of its 23 and took 106 s.
        ModelProto proto = ModelProto.Parser.ParseFrom(new Sequential(1024).Add(new Dense(1024)).ToOnnx());
        RepeatFirstNode(proto, 1999);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "shared.onnx"));
        Assert.Equal("shared.onnx: its dense layers read the same weight initializers over and over: 2,099,200,000 parameters (each layer its own copy) from 1,049,600 stored values. A multilayer perceptron's layers share no weights.", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20, "layers were allocated before the file was refused");

        // A small model's few shared weights still read, each layer with its own copy.
        ModelProto small = ModelProto.Parser.ParseFrom(new Sequential(8).Add(new Dense(8)).ToOnnx());
        RepeatFirstNode(small, 3);
        Sequential model = OnnxImport.FromOnnx(small.ToByteArray(), "small.onnx");
        Assert.Equal(4, model.Layers.Count(l => l is Dense));
    }

    [Fact]
    public void A_node_that_writes_a_value_the_graph_already_defines_is_refused()
    {
        // Relu(x) -> x, and two nodes writing each other's input (a cycle), imported as chains of ReLU.
        ModelProto proto = ModelProto.Parser.ParseFrom(new Sequential(3).Add(new Relu()).Add(new Relu()).ToOnnx());
        string input = proto.Graph.Input[0].Name;
        ModelProto self = proto.Clone();
        self.Graph.Node[0].Output[0] = input;
        var e = Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(self.ToByteArray(), "self.onnx"));
        Assert.Contains($"({self.Graph.Node[0].OpType}) writes '{input}', which the graph already defines (ONNX assigns each value once", e.Message, StringComparison.Ordinal);

        ModelProto cycle = proto.Clone();
        cycle.Graph.Node[1].Output[0] = input;
        cycle.Graph.Output[0].Name = cycle.Graph.Node[0].Output[0];
        e = Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(cycle.ToByteArray(), "cycle.onnx"));
        Assert.StartsWith("cycle.onnx: the node", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_layer_the_model_refuses_at_the_graphs_width_is_refused_naming_the_file()
    {
        // A scalar PRelu on 2^31 - 1 features: the model's ArgumentOutOfRangeException escaped without the file's name.
        ModelProto proto = ModelProto.Parser.ParseFrom(new Sequential(3).Add(new PRelu(sharedAlpha: true)).ToOnnx());
        proto.Graph.Input[0].Type.TensorType.Shape.Dim[1].DimValue = int.MaxValue;
        proto.Graph.Output[0].Type.TensorType.Shape.Dim[1].DimValue = int.MaxValue;
        var e = Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "wide.onnx"));
        Assert.StartsWith("wide.onnx: ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Claimed_weight_shapes_whose_sum_overflows_are_refused_as_too_large()
    {
        // Four nodes sharing one weight that claims [2^31 - 1, 2^31 - 1]: the claims' sum passes 2^63, which wrapped
        // to a negative total and let the check pass.
        ModelProto proto = ModelProto.Parser.ParseFrom(new Sequential(3).Add(new Dense(3)).ToOnnx());
        TensorProto weight = proto.Graph.Initializer.Single(t => t.Name == proto.Graph.Node[0].Input[1]);
        weight.Dims[0] = int.MaxValue;
        weight.Dims[1] = int.MaxValue;
        RepeatFirstNode(proto, 3);
        var e = Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "claims.onnx"));
        Assert.StartsWith("claims.onnx: its dense layers would hold", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Chains <paramref name="copies"/> more copies of the graph's first node (its weights shared) before its last node.</summary>
    private static void RepeatFirstNode(ModelProto proto, int copies)
    {
        NodeProto first = proto.Graph.Node[0], last = proto.Graph.Node[^1];
        proto.Graph.Node.Remove(last);
        string current = first.Output[0];
        for (int i = 0; i < copies; i++)
        {
            NodeProto copy = first.Clone();
            copy.Name = $"shared_{i}";
            copy.Input[0] = current;
            copy.Output[0] = current = $"shared_{i}/out";
            proto.Graph.Node.Add(copy);
        }

        last.Input[0] = current;
        proto.Graph.Node.Add(last);
    }

    [Fact]
    public void A_graph_of_no_layer_is_refused_naming_the_file()
    {
        // A Dropout-only export loaded as a model of no layers, which its first use refused without naming the file.
        byte[] onnx = new Sequential(4).Add(new Dropout(0.5f)).ToOnnx();
        var ex = Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(onnx, "empty.onnx"));
        Assert.Contains("empty.onnx: the graph holds no layer this library computes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Weights_that_are_not_finite_are_refused_by_export_and_import()
    {
        // A NaN weight makes every prediction NaN; the import read one without a word, and the export wrote one.
        var model = new Sequential(3, seed: 1).Add(new Dense(2));
        ModelProto proto = ModelProto.Parser.ParseFrom(model.ToOnnx());
        TensorProto weights = proto.Graph.Initializer[0];
        Assert.Equal(6, weights.RawData.Length / sizeof(float));
        byte[] raw = weights.RawData.ToByteArray();
        BitConverter.GetBytes(float.NaN).CopyTo(raw, 4 * sizeof(float));
        weights.RawData = ByteString.CopyFrom(raw);
        // A node name from the file is printed without its control characters.
        proto.Graph.Node[0].Name = "dense\u001b[2J";
        var nan = Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "nan.onnx"));
        Assert.Contains($"nan.onnx: tensor '{weights.Name}' (read by node 'dense?[2J', Gemm) has value 4 = NaN", nan.Message, StringComparison.Ordinal);

        // A bias in float_data.
        proto = ModelProto.Parser.ParseFrom(model.ToOnnx());
        TensorProto bias = proto.Graph.Initializer[1];
        bias.RawData = ByteString.Empty;
        bias.FloatData.Add([0f, float.NegativeInfinity]);
        var infinity = Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "inf.onnx"));
        Assert.Contains($"tensor '{bias.Name}'", infinity.Message, StringComparison.Ordinal);
        Assert.Contains("has value 1 = -Infinity", infinity.Message, StringComparison.Ordinal);

        model.Layers[0].Parameters.Span[1] = float.PositiveInfinity;
        var export = Assert.Throws<ArgumentException>(() => model.ToOnnx());
        Assert.Contains($"layer 0 ('{model.Layers[0].Name}'), parameter 1, is Infinity", export.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_folder, "inf.onnx")));
        Assert.Throws<ArgumentException>(() => model.SaveOnnx(Path.Combine(_folder, "inf.onnx")));
        Assert.False(File.Exists(Path.Combine(_folder, "inf.onnx")));
    }

    [Fact]
    public void An_imported_model_trains_like_any_other()
    {
        Sequential model = OnnxImport.FromOnnx(new Sequential(4, seed: 2).Add(new Dense(8, Activation.Relu)).Add(new Dense(3)).ToOnnx());
        model.Compile(new NeuralCore.Losses.SoftmaxCrossEntropy(), new NeuralCore.Optimizers.Adam());
        float[] x = [.. Enumerable.Range(0, 12 * 4).Select(i => (float)Math.Sin(i))];
        int[] y = [.. Enumerable.Range(0, 12).Select(i => i % 3)];
        double first = model.TrainStep(x, y, 12).Loss, last = first;
        for (int i = 0; i < 200; i++)
        {
            last = model.TrainStep(x, y, 12).Loss;
        }

        Assert.True(last < 0.7 * first, $"loss {first} -> {last}");
    }

    [Fact]
    public void Files_that_are_not_mlps_are_refused_by_name()
    {
        Assert.StartsWith("bad.onnx: not an ONNX model", Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx([0xFF, 0xFF, 0xFF], "bad.onnx")).Message, StringComparison.Ordinal);

        ModelProto proto = ModelProto.Parser.ParseFrom(new Sequential(3).Add(new Dense(2)).ToOnnx());
        proto.Graph.Node.Insert(0, new NodeProto { OpType = "Conv", Name = "conv", Input = { proto.Graph.Input[0].Name }, Output = { "c" } });
        Assert.Equal("branch.onnx: node 'conv' (Conv) cannot be read: this reader supports Gemm, MatMul (+ Add), Relu, LeakyRelu, PRelu, Elu, Selu, Softplus, Softsign, HardSigmoid (Keras 3's), HardSwish, Gelu (or its Erf or Tanh composition), Sigmoid, Tanh, Softmax, Clip, BatchNormalization, LayerNormalization, Sub + Div or Mul + Add of per-feature constants, Identity, Dropout and Flatten.",
            Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "branch.onnx")).Message);

        proto = ModelProto.Parser.ParseFrom(new Sequential(3).Add(new Dense(2)).ToOnnx());
        proto.Graph.Initializer[0].RawData = ByteString.CopyFrom(new byte[5]);
        proto.Graph.Initializer[0].FloatData.Clear();
        Assert.Contains("holds 5 bytes, not 24", Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "short.onnx")).Message, StringComparison.Ordinal);

        // Values in both fields: raw_data was taken and float_data ignored without a word.
        proto = ModelProto.Parser.ParseFrom(new Sequential(3).Add(new Dense(2)).ToOnnx());
        TensorProto twice = proto.Graph.Initializer[0];
        twice.FloatData.Clear();
        twice.FloatData.Add(new float[6]);
        twice.RawData = ByteString.CopyFrom(new byte[24]);
        Assert.Contains($"tensor '{twice.Name}' holds its values twice, in raw_data (24 bytes) and in float_data (6 values)",
            Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "twice.onnx")).Message, StringComparison.Ordinal);

        // Shapes are checked against the data before any layer is allocated.
        proto = ModelProto.Parser.ParseFrom(new Sequential(3).Add(new Dense(2)).ToOnnx());
        proto.Graph.Initializer[0].Dims[1] = 1_000_000_000;
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "huge.onnx"));
        proto.Graph.Initializer[0].Dims[1] = 100_000_000;
        Assert.Contains("holds 24 bytes, not 1200000000", Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "huge.onnx")).Message, StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "a refused file allocated its claimed weights");
        proto.Graph.Initializer[0].Dims[1] = 2;
        proto.Graph.Initializer[1].Dims[0] = -2;
        Assert.Contains("negative or larger than one array holds", Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "negative.onnx")).Message, StringComparison.Ordinal);

        // A [units, 1] "bias" broadcasts over rows in ONNX: not a dense layer's bias.
        proto = ModelProto.Parser.ParseFrom(new Sequential(3).Add(new Dense(2)).ToOnnx());
        proto.Graph.Initializer[1].Dims.Clear();
        proto.Graph.Initializer[1].Dims.Add([2, 1]);
        Assert.Contains("is not one value per unit (2)", Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "bias.onnx")).Message, StringComparison.Ordinal);

        // A [1, 1, units] bias is no Gemm's C (ONNX broadcasts C to [M, N]); it was read as [units].
        proto.Graph.Initializer[1].Dims.Clear();
        proto.Graph.Initializer[1].Dims.Add([1, 1, 2]);
        Assert.Contains("has rank 3: a dense layer's bias has rank 2 at most", Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "bias3.onnx")).Message, StringComparison.Ordinal);

        // A setting the library's layer refuses is an unsupported node, not an argument error.
        proto = ModelProto.Parser.ParseFrom(new Sequential(3).Add(new Dense(2)).Add(new LeakyRelu(0.2f)).ToOnnx());
        proto.Graph.Node.Single(n => n.OpType == "LeakyRelu").Attribute.Single().F = float.NaN;
        Assert.Contains("(LeakyRelu) cannot be read", Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "nan.onnx")).Message, StringComparison.Ordinal);

        string missing = Path.Combine(_folder, "none.onnx");
        Assert.Throws<FileNotFoundException>(() => OnnxImport.Load(missing));
        Assert.Throws<IOException>(() => OnnxImport.Load(_folder));
    }

    [Fact]
    public void Normalization_statistics_shaped_to_broadcast_over_the_samples_are_refused()
    {
        // A [4, 1] scale or bias holds as many values as [4], but ONNX Runtime scales each sample by one of them, not
        // each feature: the import had read it per feature and predicted other values (by up to 1.05), with no error.
        ModelProto Layer(ILayer layer) => ModelProto.Parser.ParseFrom(new Sequential(4).Add(layer).ToOnnx());
        void Reshape(ModelProto proto, string suffix, params long[] dims)
        {
            TensorProto tensor = proto.Graph.Initializer.Single(t => t.Name.EndsWith(suffix, StringComparison.Ordinal));
            tensor.Dims.Clear();
            tensor.Dims.AddRange(dims);
        }

        foreach (string parameter in new[] { "gamma", "beta" })
        {
            ModelProto column = Layer(new LayerNormalization(name: "ln"));
            Reshape(column, parameter, 4, 1);
            Assert.Contains($"node 'ln' (LayerNormalization) reads 4 features, but its input 'ln/{parameter}' is shaped [4, 1], where it takes [4] or [1, 4]",
                Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(column.ToByteArray(), "ln.onnx")).Message, StringComparison.Ordinal);

            ModelProto square = Layer(new LayerNormalization(name: "ln"));
            Reshape(square, parameter, 2, 2);
            Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(square.ToByteArray(), "ln.onnx"));

            // [1, 4] broadcasts per feature: read, and the same values.
            ModelProto row = Layer(new LayerNormalization(name: "ln"));
            Reshape(row, parameter, 1, 4);
            Assert.IsType<LayerNormalization>(OnnxImport.FromOnnx(row.ToByteArray(), "ln.onnx").Layers[0]);
        }

        // BatchNormalization's four statistics are one-dimensional in ONNX: [1, 4] is refused by ONNX Runtime too.
        ModelProto batch = Layer(new BatchNormalization(name: "bn"));
        TensorProto first = batch.Graph.Initializer.First(t => batch.Graph.Node.Single(n => n.OpType == "BatchNormalization").Input.Skip(1).Contains(t.Name));
        first.Dims.Clear();
        first.Dims.AddRange([1, 4]);
        Assert.Contains($"(BatchNormalization) reads 4 features, but its input '{first.Name}' is shaped [1, 4], where it takes [4]",
            Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(batch.ToByteArray(), "bn.onnx")).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("HardSwish", 14)]
    [InlineData("Gelu", 20)]
    public void An_operator_before_its_opset_is_refused(string op, int since)
    {
        ModelProto proto = ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(3)).Add(new Relu()).ToOnnx());
        NodeProto node = proto.Graph.Node.Single(n => n.OpType == "Relu");
        (node.OpType, node.Name) = (op, "act");
        proto.OpsetImport.Single().Version = since - 1;
        Assert.Contains($"node 'act' is a {op}, an operator from opset {since}, but the file declares opset {since - 1}",
            Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "early.onnx")).Message, StringComparison.Ordinal);
        proto.OpsetImport.Single().Version = since;
        Assert.Equal(2, OnnxImport.FromOnnx(proto.ToByteArray(), "on-time.onnx").Layers.Count);
    }

    [Fact]
    public void Operators_given_more_inputs_than_they_take_are_refused()
    {
        ModelProto proto = ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(3)).Add(new Sigmoid(name: "s")).ToOnnx());
        NodeProto sigmoid = proto.Graph.Node.Single(n => n.OpType == "Sigmoid");
        NodeProto gemm = proto.Graph.Node.Single(n => n.OpType == "Gemm");
        sigmoid.Input.Add(gemm.Input[1]);
        Assert.Contains("(Sigmoid) has 2 inputs, where the operator takes one",
            Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "extra.onnx")).Message, StringComparison.Ordinal);

        sigmoid.Input.RemoveAt(1);
        gemm.Input.Add(gemm.Input[2]);
        Assert.Contains("(Gemm) has 4 inputs, where the operator takes A, B and an optional C",
            Assert.Throws<InvalidDataException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "extra.onnx")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_clip_bound_of_one_value_in_three_dimensions_is_not_a_scalar()
    {
        // ONNX Runtime takes a bound shaped [] or [1] and refuses [1, 1, 1].
        ModelProto proto = ModelProto.Parser.ParseFrom(new Sequential(4).Add(new Dense(3)).Add(new Relu { MaxValue = 6f }).ToOnnx());
        NodeProto clip = proto.Graph.Node.Single(n => n.OpType == "Clip");
        TensorProto max = proto.Graph.Initializer.Single(t => t.Name == clip.Input[2]);
        foreach (long[] dims in new[] { Array.Empty<long>(), [1L] })
        {
            max.Dims.Clear();
            max.Dims.AddRange(dims);
            Assert.Equal(6f, Assert.IsType<Relu>(OnnxImport.FromOnnx(proto.ToByteArray(), "clip.onnx").Layers[1]).MaxValue);
        }

        max.Dims.AddRange([1, 1]);
        Assert.Contains($"'{max.Name}' is not a scalar",
            Assert.Throws<NotSupportedException>(() => OnnxImport.FromOnnx(proto.ToByteArray(), "clip.onnx")).Message, StringComparison.Ordinal);
    }
}
