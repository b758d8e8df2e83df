using NeuralCore.Kernels;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Training;

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
    public void Integer_bounds_nans_classes_lengths_and_weights_name_the_argument_and_its_value()
    {
        var least = Assert.Throws<ArgumentOutOfRangeException>(() => Check.AtLeast(1, 2, "classes", "a number of classes"));
        Assert.Equal("classes", least.ParamName);
        Assert.StartsWith("Expected a number of classes of at least 2. Received: classes=1.", least.Message, StringComparison.Ordinal);
        Check.AtLeast(2, 2, "classes");

        Assert.StartsWith("Expected digits in [0, 15]. Received: digits=16.",
            Assert.Throws<ArgumentOutOfRangeException>(() => Check.InRange(16, 0, 15, "digits")).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Check.InRange(-1, 0, 15, "digits"));
        Check.InRange(0, 0, 15, "digits");
        Check.InRange(15, 0, 15, "digits");

        var nan = Assert.Throws<ArgumentOutOfRangeException>(() => Check.Number(float.NaN, "threshold", "a number"));
        Assert.Equal("threshold", nan.ParamName);
        Assert.Equal(float.NaN, nan.ActualValue);
        Assert.StartsWith("Expected a number. Received: threshold=NaN.", nan.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Check.Number(double.NaN, "baseline", "a number"));
        Check.Number(float.PositiveInfinity, "threshold", "a number");

        var label = Assert.Throws<ArgumentException>(() => Check.Class(7, 4, 3, "labels"));
        Assert.Equal("labels", label.ParamName);
        Assert.StartsWith("labels[4] = 7 is outside [0, 3).", label.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Check.Class(-1, 0, 3, "labels"));
        Check.Class(2, 0, 3, "labels");
        Assert.StartsWith("labels[1] = 3 is outside [0, 3): the model predicts 3 classes.",
            Assert.Throws<ArgumentException>(() => Check.Labels([0, 3], 3, "labels")).Message, StringComparison.Ordinal);

        var length = Assert.Throws<ArgumentException>(() => Check.SameLength(1, 2, "predictions", "labels"));
        Assert.Equal("predictions", length.ParamName);
        Assert.StartsWith("labels holds 2 values but predictions holds 1.", length.Message, StringComparison.Ordinal);
        Check.SameLength(2, 2, "predictions", "labels");

        var weight = Assert.Throws<ArgumentException>(() => Check.Weight(float.NaN, 3, "options", "Class weight"));
        Assert.Equal("options", weight.ParamName);
        Assert.StartsWith("Class weight 3 is NaN: weights must be non-negative and finite.", weight.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_setter_names_its_value_parameter_and_shows_the_property()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Check.NonNegative(-1f, "Threshold", paramName: "value"));
        Assert.Equal("value", e.ParamName);
        Assert.StartsWith("Expected a non-negative, finite threshold. Received: threshold=-1.", e.Message, StringComparison.Ordinal);
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => Check.InRange(-1f, 0f, 1f, "[]", "MaxValue", paramName: "value"));
        Assert.Equal("value", range.ParamName);
        Assert.StartsWith("Expected maxValue in [0, 1]. Received: maxValue=-1.", range.Message, StringComparison.Ordinal);
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

    [Fact]
    public void Kernels_word_their_checks_as_Check_does()
    {
        // ThrowHelper had its own wording ("rows must be non-negative", "matrix is too short: the shape needs 6
        // elements but the span holds 5", "outputGrad has length 2 but 3 was expected").
        var negative = Assert.Throws<ArgumentOutOfRangeException>(() => Elementwise.AccumulateColumnSums(new float[6], new float[3], -1));
        Assert.Equal("rows", negative.ParamName);
        Assert.StartsWith("Expected a non-negative rows. Received: rows=-1.", negative.Message, StringComparison.Ordinal);
        var shortMatrix = Assert.Throws<ArgumentException>(() => Elementwise.AccumulateColumnSums(new float[5], new float[3], 2));
        Assert.Equal("matrix", shortMatrix.ParamName);
        Assert.StartsWith("matrix holds 5 elements but the shape needs 6.", shortMatrix.Message, StringComparison.Ordinal);
        var length = Assert.Throws<ArgumentException>(() => Activations.SigmoidBackward(new float[3], new float[2], new float[3]));
        Assert.Equal("outputGrad", length.ParamName);
        Assert.StartsWith("y holds 3 elements but outputGrad holds 2.", length.Message, StringComparison.Ordinal);
        var empty = Assert.Throws<ArgumentException>(() => Elementwise.ShiftedExp([], new float[1]));
        Assert.StartsWith("Expected a non-empty x. Received: x of length 0.", empty.Message, StringComparison.Ordinal);
        float[] shared = new float[12];
        var overlap = Assert.Throws<ArgumentException>(() => Elementwise.AccumulateColumnSums(shared, shared.AsSpan(4, 4), 2));
        Assert.StartsWith("sums must not overlap matrix.", overlap.Message, StringComparison.Ordinal);
        var slope = Assert.Throws<ArgumentOutOfRangeException>(() => Activations.ReluBackward(new float[1], new float[1], new float[1], float.NaN, 0f, float.PositiveInfinity));
        Assert.StartsWith("Expected a number. Received: negativeSlope=NaN.", slope.Message, StringComparison.Ordinal);
        var cap = Assert.Throws<ArgumentOutOfRangeException>(() => Activations.ReluBackward(new float[1], new float[1], new float[1], 0f, 1f, 0.5f));
        Assert.StartsWith("Expected a maxValue at or above the threshold in [1, Infinity]. Received: maxValue=0.5.", cap.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Indices_upper_bounds_and_a_setters_range_name_the_value()
    {
        Assert.StartsWith("Expected a row in [0, 3). Received: row=3.",
            Assert.Throws<ArgumentOutOfRangeException>(() => Check.Index(3, 3, "row", "a row")).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Check.Index(-1, 3, "row"));
        Check.Index(0, 1, "row");
        Check.Index(2, 3, "row");
        var above = Assert.Throws<ArgumentOutOfRangeException>(() => Check.AtMost(5, 4, "count", "a number of items"));
        Assert.Equal("count", above.ParamName);
        Assert.StartsWith("Expected a number of items of at most 4. Received: count=5.", above.Message, StringComparison.Ordinal);
        Check.AtMost(4, 4, "count");

        int before = Parallelism.DegreeOfParallelism;
        var degree = Assert.Throws<ArgumentOutOfRangeException>(() => Parallelism.DegreeOfParallelism = 257);
        Assert.Equal("value", degree.ParamName);
        Assert.StartsWith("Expected a degree of parallelism in [1, 256]. Received: degreeOfParallelism=257.", degree.Message, StringComparison.Ordinal);
        Assert.Equal(before, Parallelism.DegreeOfParallelism);
        Assert.StartsWith("Expected a terminal width (columns) of at least 2. Received: width=1.",
            Assert.Throws<ArgumentOutOfRangeException>(() => new ProgressLogger(1, TextWriter.Null, width: 1)).Message, StringComparison.Ordinal);
    }
}
