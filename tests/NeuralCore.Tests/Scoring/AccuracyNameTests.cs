using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Scoring;
using NeuralCore.Training;

namespace NeuralCore.Tests.Scoring;

/// <summary>
/// Keras's accuracy metric names (<c>binary_accuracy</c>, <c>categorical_accuracy</c>,
/// <c>sparse_categorical_accuracy</c>) against their Keras formulas computed here from <c>Predict</c>, and refused
/// where the model's accuracy is the other kind.
/// </summary>
public class AccuracyNameTests
{
    private const int Count = 40;

    private static Sequential Model(int inputs, int outputs, ILoss loss, ILayer? last, params string[] metrics)
    {
        var model = new Sequential(inputs, seed: 5);
        model.Add(new Dense(outputs));
        if (last is not null)
        {
            model.Add(last);
        }

        model.Compile(loss, new Adam(0.01f), metrics: metrics);
        return model;
    }

    // Keras's binary_accuracy: mean over every output of every sample of (prediction > 0.5) == target.
    private static double BinaryAccuracy(float[] probabilities, float[] targets) =>
        probabilities.Zip(targets).Average(p => (p.First > 0.5f) == (p.Second == 1f) ? 1.0 : 0.0);

    [Theory]
    [InlineData(1, true)]
    [InlineData(1, false)]
    [InlineData(3, true)]
    [InlineData(3, false)]
    public void Binary_accuracy_thresholds_every_output_at_one_half_as_kerass_does(int outputs, bool fromLogits)
    {
        float[] x = Seeded.Uniform(Count * 4, 1, 2f);
        float[] t = [.. Seeded.Uniform(Count * outputs, 2).Select(v => v > 0 ? 1f : 0f)];
        Sequential model = Model(4, outputs, new BinaryCrossentropy(fromLogits), fromLogits ? null : new Sigmoid(),
            "accuracy", "binary_accuracy");
        // Predict gives probabilities either way (a from-logits loss applies its sigmoid), as Keras's metric reads them.
        float[] p = new float[Count * outputs];
        model.Predict(x, p, Count);
        double expected = BinaryAccuracy(p, t);
        Assert.InRange(expected, 0.05, 0.95);

        Evaluation result = model.Evaluate(x, t, Count);
        Assert.Equal(expected, result.Metrics["binary_accuracy"], 12);
        Assert.Equal(expected, result.Metrics["accuracy"], 12);
        Assert.Equal(expected, result.Accuracy, 12);
    }

    [Fact]
    public void Categorical_and_sparse_categorical_accuracy_compare_argmaxes_as_kerass_do()
    {
        const int classes = 4;
        float[] x = Seeded.Uniform(Count * 5, 3, 2f);
        int[] labels = [.. Enumerable.Range(0, Count).Select(i => (i * 7) % classes)];
        float[] oneHot = new float[Count * classes];
        for (int i = 0; i < Count; i++)
        {
            oneHot[(i * classes) + labels[i]] = 1f;
        }

        Sequential model = Model(5, classes, new SoftmaxCrossEntropy(), null, "categorical_accuracy", "sparse_categorical_accuracy");
        float[] p = new float[Count * classes];
        model.Predict(x, p, Count);
        double expected = Enumerable.Range(0, Count)
            .Average(i => Array.IndexOf(p, p.Skip(i * classes).Take(classes).Max(), i * classes) - (i * classes) == labels[i] ? 1.0 : 0.0);
        Assert.InRange(expected, 0.05, 0.95);

        // Keras's categorical_accuracy reads one-hot rows, its sparse_categorical_accuracy labels: each the same here.
        Evaluation onRows = model.Evaluate(x, oneHot, Count);
        Evaluation onLabels = model.Evaluate(x, labels, Count);
        Assert.Equal(expected, onRows.Metrics["categorical_accuracy"], 12);
        Assert.Equal(expected, onLabels.Metrics["sparse_categorical_accuracy"], 12);
        Assert.Equal(expected, onLabels.Accuracy, 12);
    }

    [Fact]
    public void Fit_reports_an_accuracy_under_its_keras_name_and_as_the_epochs_accuracy()
    {
        float[] x = Seeded.Uniform(Count * 4, 4, 2f);
        float[] t = [.. Seeded.Uniform(Count, 5).Select(v => v > 0 ? 1f : 0f)];
        Sequential model = Model(4, 1, new BinaryCrossentropy(fromLogits: true), null, "binary_accuracy");
        History history = model.Fit(x, t, new FitOptions { Epochs = 2, BatchSize = 8, ValidationSplit = 0.25, Verbose = 0 });

        Assert.Equal(history.Epochs.Select(e => e.Accuracy), history.Metric("binary_accuracy"));
        Assert.Equal(history.Epochs.Select(e => e.ValidationAccuracy!.Value), history.Metric("val_binary_accuracy"));
        Assert.All(history.Metric("binary_accuracy"), a => Assert.InRange(a, 0, 1));

    }

    [Fact]
    public void AccuracyOf_takes_the_first_accuracy_name_present_with_the_prefix_given()
    {
        var values = new Dictionary<string, double>
        {
            ["loss"] = 0.5,
            ["binary_accuracy"] = 0.25,
            ["accuracy"] = 0.75,
            ["val_sparse_categorical_accuracy"] = 0.125,
        };

        // "accuracy" before its Keras names; "val_" finds the validation one, under whichever name it has.
        Assert.Equal(0.75, MetricSet.AccuracyOf(values));
        Assert.Equal(0.125, MetricSet.AccuracyOf(values, "val_"));
        values.Remove("accuracy");
        Assert.Equal(0.25, MetricSet.AccuracyOf(values));
        Assert.True(double.IsNaN(MetricSet.AccuracyOf(values, "test_")));
        Assert.True(double.IsNaN(MetricSet.AccuracyOf(new Dictionary<string, double> { ["loss"] = 1 })));
        Assert.Throws<ArgumentNullException>(() => MetricSet.AccuracyOf(values, null!));
        Assert.Throws<ArgumentNullException>(() => MetricSet.AccuracyOf(null!));
    }

    [Fact]
    public void A_keras_accuracy_name_of_the_other_kind_is_refused_naming_the_one_to_use()
    {
        var ex = Assert.Throws<ArgumentException>(() => Model(4, 3, new SoftmaxCrossEntropy(), null, "binary_accuracy"));
        Assert.Contains("'binary_accuracy' is not this model's accuracy", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Use 'accuracy' or 'categorical_accuracy'", ex.Message, StringComparison.Ordinal);
        Assert.Equal("metrics", ex.ParamName);

        // One output: the accuracy is binary whatever the loss.
        ex = Assert.Throws<ArgumentException>(() => Model(4, 1, new BinaryCrossentropy(fromLogits: true), null, "categorical_accuracy"));
        Assert.Contains("Use 'accuracy' or 'binary_accuracy'", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Model(4, 2, new BinaryCrossentropy(fromLogits: true), null, "sparse_categorical_accuracy"));
    }
}
