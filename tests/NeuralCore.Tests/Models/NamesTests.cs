using NeuralCore.Configuration;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Serialization;

namespace NeuralCore.Tests.Models;

public class NamesTests
{
    [Fact]
    public void Names_the_file_cannot_store_are_refused_when_given()
    {
        Assert.Throws<ArgumentNullException>(() => new Sequential(3, name: null!));
        var tooLong = Assert.Throws<ArgumentException>(() => new Sequential(3, name: new string('é', 2049)));
        Assert.Contains("4098 bytes of UTF-8", tooLong.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new Dense(2, name: "a\ud800b"));
        var layer = new Dense(2);
        Assert.Throws<ArgumentNullException>(() => layer.Name = null!);
        Assert.Throws<ArgumentException>(() => layer.Name = new string('x', 4097));

        // The longest name that fits is saved and read back.
        string path = Path.Combine(Path.GetTempPath(), $"neuralcore-{Guid.NewGuid():N}.ncm");
        try
        {
            var model = new Sequential(3, name: new string('x', Names.MaxUtf8Bytes)).Add(new Dense(2));
            ModelFile.Save(model, path);
            Assert.Equal(Names.MaxUtf8Bytes, ModelFile.Load(path).Name.Length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Printed_names_carry_no_control_characters()
    {
        var model = new Sequential(3, name: "evil\u001b[2J\r\nfake").Add(new Dense(2, name: "layer\u0007\u009b"));
        string summary = model.Summary();
        Assert.DoesNotContain('\u001b', summary);
        Assert.DoesNotContain('\u0007', summary);
        Assert.DoesNotContain('\u009b', summary);
        Assert.Contains("Model: \"evil?[2J??fake\"", summary, StringComparison.Ordinal);
        Assert.Equal("plain", Names.Printable("plain"));

        // The bidirectional overrides and isolates reorder what is printed after them; a joiner inside an emoji stays.
        Assert.Equal("a?b?c?d", Names.Printable("a\u202eb\u2066c\u2069d"));
        Assert.Equal("👩\u200d💻", Names.Printable("👩\u200d💻"));
    }

    [Fact]
    public void Exception_messages_print_names_without_control_characters()
    {
        // An escape sequence that clears a terminal, a line break that forges a log line, and a right-to-left override.
        const string Evil = "evil\u001b[2J\n\u202ename";
        const string Printed = "evil?[2J??name";
        var messages = new List<string>();

        var dense = new Dense(2, name: Evil);
        var model = new Sequential(3, name: Evil).Add(dense);
        messages.Add(Assert.Throws<ArgumentException>(() => model.Add(dense)).Message);
        messages.Add(Assert.Throws<ArgumentException>(() => new Sequential(3).Add(dense)).Message);
        messages.Add(Assert.Throws<ArgumentException>(() => new Sequential(3).Add(new Dense(5, 2, seed: 1, name: Evil))).Message);

        var softmax = new Sequential(3).Add(new Dense(2, Activation.Softmax, name: Evil));
        messages.Add(Assert.Throws<ArgumentException>(() => softmax.Compile(new CategoricalCrossentropy(fromLogits: true), new Sgd())).Message);

        var unsupported = new Sequential(3).Add(new Scale(Evil));
        messages.Add(Assert.Throws<NotSupportedException>(unsupported.CreatePredictor).Message);

        foreach (string message in messages)
        {
            Assert.Contains(Printed, message, StringComparison.Ordinal);
            Assert.DoesNotContain('\u001b', message);
            Assert.DoesNotContain('\n', message);
            Assert.DoesNotContain('\u202e', message);
        }
    }

    [Fact]
    public void A_batch_no_array_can_hold_is_refused_by_name()
    {
        var model = new Sequential(65_536, seed: 1).Add(new Dense(10));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => model.Compile(new MeanSquaredError(), new Sgd(), maxBatchSize: 60_000));
        Assert.Equal("maxBatchSize", ex.ParamName);
        Assert.Contains("more than a .NET array holds", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>y = w·x with one parameter w, and no copy for a Predictor.</summary>
    private sealed class Scale(string name) : Layer(name)
    {
        public override string DefaultName => "scale";

        public override string TypeId => "Scale";

        public override int ParameterCount => 1;

        protected override int OnBuild(int inputSize) => inputSize;

        protected override void InitializeParameters(Span<float> parameters, ulong seed) => parameters[0] = 2f;

        protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) =>
            System.Numerics.Tensors.TensorPrimitives.Multiply(input, Parameters.Span[0], output);

        protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch) =>
            outputGrad.CopyTo(inputGrad);
    }
}
