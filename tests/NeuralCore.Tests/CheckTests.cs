using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;

namespace NeuralCore.Tests;

public class CheckTests
{
    [Fact]
    public void Range_messages_say_what_was_expected_then_what_was_received()
    {
        Assert.Equal("Expected a positive number of units. Received: units=0. (Parameter 'units')\nActual value was 0.",
            Assert.Throws<ArgumentOutOfRangeException>(() => Check.Positive(0, "units", "number of units")).Message.ReplaceLineEndings("\n"));
        Assert.StartsWith("Expected a positive, finite learningRate. Received: learningRate=NaN.",
            Assert.Throws<ArgumentOutOfRangeException>(() => Check.Positive(float.NaN, "LearningRate")).Message);
        Assert.StartsWith("Expected a non-negative, finite clipNorm. Received: clipNorm=-0.1.",
            Assert.Throws<ArgumentOutOfRangeException>(() => Check.NonNegative(-0.1f, "ClipNorm")).Message);
        Assert.StartsWith("Expected a dropout rate in [0, 1). Received: rate=1.",
            Assert.Throws<ArgumentOutOfRangeException>(() => Check.InRange(1f, 0f, 1f, "[)", "rate", "a dropout rate")).Message);
        Assert.StartsWith("Expected pctStart in (0, 1). Received: pctStart=0.",
            Assert.Throws<ArgumentOutOfRangeException>(() => Check.InRange(0.0, 0.0, 1.0, "()", "pctStart")).Message);
    }

    [Fact]
    public void A_float_argument_is_reported_as_the_float_given()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new NeuralCore.Layers.Dropout(1.1f));
        Assert.Equal(1.1f, e.ActualValue);
        Assert.EndsWith("Actual value was 1.1.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ends_are_included_or_not_as_the_interval_says_and_nan_is_never_in_range()
    {
        Check.InRange(0f, 0f, 1f, "[)", "x");
        Check.InRange(1f, 0f, 1f, "(]", "x");
        Assert.Throws<ArgumentOutOfRangeException>(() => Check.InRange(0f, 0f, 1f, "(]", "x"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Check.InRange(1f, 0f, 1f, "[)", "x"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Check.InRange(float.NaN, 0f, 1f, "[]", "x"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Check.Positive(float.PositiveInfinity, "x"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Check.NonNegative(-1L, "x"));
        Check.NonNegative(0L, "x");
        Check.NonNegative(0f, "x");
    }

    [Fact]
    public void Buffer_messages_name_the_shape_and_what_it_needs()
    {
        var e = Assert.Throws<ArgumentException>(() => Check.Holds(5, 2, 3, "output", "batch", "outputs"));
        Assert.Equal("output", e.ParamName);
        Assert.StartsWith("output holds 5 floats but [batch=2, outputs=3] needs 6.", e.Message);
        Assert.StartsWith("inputs holds 7 floats but [count=1, 784] needs 784.",
            Assert.Throws<ArgumentException>(() => Check.Holds(7, 1, 784, "inputs", "count")).Message);
        Assert.StartsWith("labels holds 2 labels but [count=3] needs 3.",
            Assert.Throws<ArgumentException>(() => Check.Holds(2, 3, 1, "labels", "count", unit: "labels")).Message);
        Check.Holds(6, 2, 3, "output", "batch");

        // Inputs must hold exactly their rows: more means rows of another width, and reading them gave wrong rows.
        Check.Holds(8, 2, 3, "output", "batch");
        Assert.StartsWith("inputs holds 17639 floats but [count=569, 30] needs exactly 17070: 569 more than the rows hold",
            Assert.Throws<ArgumentException>(() => Check.Holds(17639, 569, 30, "inputs", "count", exact: true)).Message);
        Check.Holds(6, 2, 3, "inputs", "batch", exact: true);
    }

    [Fact]
    public void Weights_and_labels_name_the_first_bad_element()
    {
        Assert.StartsWith("Sample weight 1 is -1: weights must be non-negative and finite.",
            Assert.Throws<ArgumentException>(() => Check.Weights([1f, -1f, float.NaN], "weights", "Sample weight")).Message);
        Assert.StartsWith("labels[2] = 10 is outside [0, 10): the model predicts 10 classes.",
            Assert.Throws<ArgumentException>(() => Check.Labels([0, 9, 10, -1], 10, "labels")).Message);
    }

    [Fact]
    public void Entry_points_word_the_same_problem_the_same_way()
    {
        Assert.StartsWith("Expected a positive input size. Received: inputSize=0.",
            Assert.Throws<ArgumentOutOfRangeException>(() => new Sequential(0)).Message);
        Assert.StartsWith("Expected a positive number of units. Received: units=-3.",
            Assert.Throws<ArgumentOutOfRangeException>(() => new Dense(-3)).Message);
        Assert.StartsWith("Expected beta1 in [0, 1). Received: beta1=1.",
            Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(new AdamOptions(Beta1: 1f))).Message);
        Assert.StartsWith("Expected label_smoothing in [0, 1]. Received: labelSmoothing=1.5.",
            Assert.Throws<ArgumentOutOfRangeException>(() => new SoftmaxCrossEntropy(labelSmoothing: 1.5f)).Message);
        var loss = new SoftmaxCrossEntropy();
        Assert.StartsWith("Expected a positive batch size. Received: batch=0.",
            Assert.Throws<ArgumentOutOfRangeException>(() => loss.PerSample([], LossTargets.FromLabels([]), new double[1], 0, 10)).Message);
    }
}
