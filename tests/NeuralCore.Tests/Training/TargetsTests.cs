using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Scoring;
using NeuralCore.Training;

namespace NeuralCore.Tests.Training;

/// <summary>Fit, Evaluate and Predict on real-valued targets, binary labels, sample and class weights.</summary>
public class TargetsTests
{
    private static (float[] X, float[] Y) Line(int count, int seed)
    {
        var random = new Random(seed);
        float[] x = new float[count], y = new float[count];
        for (int i = 0; i < count; i++)
        {
            x[i] = (float)((random.NextDouble() * 4) - 2);
            y[i] = (2 * x[i]) + 1;
        }

        return (x, y);
    }

    [Fact]
    public void A_regression_of_y_equals_2x_plus_1_is_learned_and_reported_with_regression_metrics()
    {
        // The issue's first finding: this was rejected ("labels[0] = 1 is outside [0, 1)").
        (float[] x, float[] y) = Line(256, 1);
        var model = new Sequential(1, seed: 2).Add(new Dense(1));
        model.Compile(new MeanSquaredError(), new Adam(0.05f), metrics: ["mae", "rmse", "r2"]);
        History history = model.Fit(x, y, new FitOptions { Epochs = 60, BatchSize = 32, ValidationSplit = 0.25 });

        Assert.Equal(2f, model.Parameters.Span[0], 0.02f);
        Assert.Equal(1f, model.Parameters.Span[1], 0.02f);
        EpochMetrics last = history.Epochs[^1];
        Assert.True(double.IsNaN(last.Accuracy));
        Assert.True(last.Get("val_mae") < 0.02, $"{last.Get("val_mae")}");
        Assert.True(last.Get("val_r2") > 0.999, $"{last.Get("val_r2")}");
        Assert.Equal(Math.Sqrt(last.Get("val_loss")!.Value), last.Get("val_rmse")!.Value, 1e-6);
        Assert.Equal(history.Epochs.Select(e => e.Get("mae")!.Value), history.Metric("mae"));

        Evaluation evaluation = model.Evaluate(x, y, x.Length);
        Assert.True(double.IsNaN(evaluation.Accuracy));
        Assert.True(evaluation.Metrics["r2"] > 0.999);

        // Predict is the regression value itself.
        float[] prediction = model.Predict([0.5f]);
        Assert.Equal(2f, prediction[0], 0.05f);
    }

    [Fact]
    public void Labels_and_targets_given_as_the_other_kind_are_named_with_the_fix()
    {
        // Class indices as floats were read as rows of targets: "inputs has shape [12, 2] but targets has shape [4, 3]".
        (float[] x, int[] blobs) = FitTests.Blobs(12, 1);
        var classifier = new Sequential(2, seed: 1).Add(new Dense(3));
        classifier.Compile(new SoftmaxCrossEntropy(), new Adam());
        float[] indices = [.. blobs.Select(c => (float)(c % 3))];
        var ex = Assert.Throws<ArgumentException>(() => classifier.Fit(x, indices));
        Assert.Contains("12 values, one per sample, but the model has 3 outputs", ex.Message, StringComparison.Ordinal);
        Assert.Contains("pass them as int[] labels", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => classifier.Fit(new Dataset(x, indices, 2, 1), new FitOptions()));
        Assert.Contains("make the dataset with int[] labels", ex.Message, StringComparison.Ordinal);

        // Values to regress as int[] were told only about classes.
        var regression = new Sequential(2, seed: 1).Add(new Dense(1));
        regression.Compile(new MeanSquaredError(), new Adam());
        ex = Assert.Throws<ArgumentException>(() => regression.Fit(x, [.. blobs.Select(c => 150 + c)]));
        Assert.Contains("pass them as float[] targets", ex.Message, StringComparison.Ordinal);

        // A binary loss on several outputs points to the loss that suits raw outputs.
        var binary = new Sequential(2, seed: 1).Add(new Dense(3));
        binary.Compile(new BinaryCrossentropy(fromLogits: true), new Adam());
        ex = Assert.Throws<ArgumentException>(() => binary.Fit(x, [.. blobs.Select(c => c % 3)]));
        Assert.Contains("use SoftmaxCrossEntropy on these raw outputs", ex.Message, StringComparison.Ordinal);

        // An evaluation prints its values, not its dictionary's type; a regression has no accuracy to print.
        string text = regression.Evaluate(x, [.. blobs.Select(c => (float)c)], 12).ToString();
        Assert.StartsWith("12 samples - loss: ", text, StringComparison.Ordinal);
        Assert.Contains(" - mae: ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Dictionary", text, StringComparison.Ordinal);
        Assert.DoesNotContain("accuracy", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Metrics_named_after_a_loss_are_its_unweighted_mean_over_the_samples_on_the_predictions()
    {
        // Keras's metrics=['mape', 'msle', ...]: refused as unknown before.
        var random = new Random(3);
        float[] x = [.. Enumerable.Range(0, 2 * 40).Select(_ => (float)random.NextDouble())];
        float[] y = [.. Enumerable.Range(0, 40).Select(i => 1 + x[2 * i] + (2 * x[(2 * i) + 1]))];
        float[] weights = [.. Enumerable.Range(0, 40).Select(i => 0.5f + (i % 3))];
        var regression = new Sequential(2, seed: 4).Add(new Dense(8, Activation.Relu)).Add(new Dense(1)).Add(new Softplus());
        string[] names = ["mape", "msle", "log_cosh", "poisson", "cosine_similarity"];
        regression.Compile(new MeanSquaredError(), new Adam(0.01f), metrics: names);
        History history = regression.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 8, ValidationSplit = 0.25 });
        Assert.All(names, n => Assert.True(history.Epochs[^1].Get("val_" + n) is double v && double.IsFinite(v), n));

        Evaluation evaluation = regression.Evaluate(new Dataset(x, y, 2, 1).WithSampleWeights(weights));
        float[] predictions = regression.Predict(new Dataset(x, y, 2, 1));
        double Mean(ILoss loss)
        {
            double[] each = new double[40];
            loss.PerSample(predictions, LossTargets.FromValues(y), each, 40, 1);
            return each.Average();
        }

        Assert.Equal(Mean(new MeanAbsolutePercentageError()), evaluation.Metrics["mape"], 1e-9);
        Assert.Equal(Mean(new MeanSquaredLogarithmicError()), evaluation.Metrics["msle"], 1e-9);
        Assert.Equal(Mean(new LogCosh()), evaluation.Metrics["log_cosh"], 1e-9);
        Assert.Equal(Mean(new Poisson()), evaluation.Metrics["poisson"], 1e-9);
        Assert.Equal(1.0, evaluation.Metrics["cosine_similarity"], 1e-9); // one positive output against positive targets

        // On a classifier: with labels, on the softmax probabilities the predictions are.
        (float[] bx, int[] blobs) = FitTests.Blobs(60, 2);
        var classifier = new Sequential(2, seed: 4).Add(new Dense(4));
        classifier.Compile(new SoftmaxCrossEntropy(), new Adam(0.05f), metrics: ["accuracy", "kl_divergence", "categorical_hinge", "hinge"]);
        classifier.Fit(bx, blobs, new FitOptions { Epochs = 3, BatchSize = 16 });
        Evaluation scored = classifier.Evaluate(bx, blobs, 60);
        float[] probabilities = classifier.Predict(new Dataset(bx, blobs, 2));
        double[] kl = new double[60];
        new KLDivergence().PerSample(probabilities, LossTargets.FromLabels(blobs), kl, 60, 4);
        Assert.Equal(kl.Average(), scored.Metrics["kl_divergence"], 1e-9);
        Assert.True(scored.Metrics["categorical_hinge"] is > 0 and < 2, $"{scored.Metrics["categorical_hinge"]}");

        var ex = Assert.Throws<ArgumentException>(() => classifier.Compile(new SoftmaxCrossEntropy(), new Adam(), metrics: ["mean_absolute_percentage"]));
        Assert.Contains("expected one of accuracy, mae, mse, rmse, r2, mape, msle", ex.Message, StringComparison.Ordinal);

        // The similarity goes up: Auto maximizes it (EarlyStopping stopped as it rose), and the error lists it.
        Assert.True(Monitoring.Maximizes("val_cosine_similarity", MonitorMode.Auto));
        Assert.False(Monitoring.Maximizes("val_mape", MonitorMode.Auto));
        Assert.Contains("cosine_similarity", Assert.Throws<ArgumentException>(() => new EarlyStopping("val_cosine")).Message, StringComparison.Ordinal);

        // A custom loss's labels beyond a built-in loss's range are read as values, as mae reads them: mape refused
        // "labels[0] = 3 is outside [0, 2)" mid-Fit.
        int[] ratings = [.. Enumerable.Range(0, 40).Select(i => i % 5)];
        var rated = new Sequential(2, seed: 4).Add(new Dense(1));
        rated.Compile(new CountLoss(), new Adam(0.01f), metrics: ["mae", "mape"]);
        History ratedHistory = rated.Fit(x, ratings, new FitOptions { Epochs = 1, BatchSize = 8 });
        Assert.True(double.IsFinite(ratedHistory.Epochs[0].Get("mape")!.Value));
    }

    [Fact]
    public void Regression_defaults_to_mae_and_classification_to_accuracy()
    {
        (float[] x, float[] y) = Line(64, 2);
        var model = new Sequential(1, seed: 2).Add(new Dense(1));
        model.Compile(new MeanAbsoluteError(), new Sgd(0.01f));
        EpochMetrics epoch = model.Fit(x, y).Epochs[0];
        Assert.True(epoch.Values.ContainsKey("mae"));
        Assert.False(epoch.Values.ContainsKey("accuracy"));
        Assert.Equal(epoch.Loss, epoch.Get("mae")!.Value, 1e-6); // the loss sums per batch, the metric per sample
    }

    [Fact]
    public void A_one_output_binary_classifier_trains_on_0_1_labels_with_binary_accuracy()
    {
        // The issue's second finding: a one-output binary classifier could not be built.
        (float[] x, int[] blobs) = FitTests.Blobs(400, 3);
        int[] y = [.. blobs.Select(c => c % 2)];
        var model = new Sequential(2, seed: 4).Add(new Dense(8)).Add(new Relu()).Add(new Dense(1));
        model.Compile(new BinaryCrossentropy(fromLogits: true), new Adam(0.02f));
        History history = model.Fit(x, y, new FitOptions { Epochs = 10 });
        Assert.True(history.Epochs[^1].Accuracy > 0.97, $"{history.Epochs[^1]}");

        // Predictions are probabilities (sigmoid of the logit), classes threshold them at ½, the matrix is 2 × 2.
        float[] logits = new float[400], probabilities = new float[400];
        model.Infer(x, logits, 400);
        model.Predict(x, probabilities, 400);
        for (int i = 0; i < 400; i++)
        {
            Assert.Equal(1 / (1 + MathF.Exp(-logits[i])), probabilities[i], 1e-6f);
        }

        int[] classes = model.PredictClasses(x, 400);
        Assert.Equal([.. probabilities.Select(p => p > 0.5f ? 1 : 0)], classes);
        ConfusionMatrix matrix = model.ConfusionMatrix(x, y, 400);
        Assert.Equal(2, matrix.Classes);
        Assert.Equal(model.Evaluate(x, y, 400).Accuracy, matrix.Accuracy, 9);
    }

    [Fact]
    public void A_sigmoid_output_with_binary_cross_entropy_on_probabilities_matches_the_logits_form()
    {
        (float[] x, int[] blobs) = FitTests.Blobs(200, 5);
        float[] y = [.. blobs.Select(c => (float)(c / 2))];
        var logits = new Sequential(2, seed: 6).Add(new Dense(6)).Add(new Tanh()).Add(new Dense(1));
        var probabilities = new Sequential(2, seed: 6).Add(new Dense(6)).Add(new Tanh()).Add(new Dense(1, Activation.Sigmoid));
        logits.Compile(new BinaryCrossentropy(fromLogits: true), new Sgd(0.1f));
        probabilities.Compile(new BinaryCrossentropy(), new Sgd(0.1f));
        TrainStepResult a = logits.TrainStep(x, LossTargets.FromValues(y), 200);
        TrainStepResult b = probabilities.TrainStep(x, LossTargets.FromValues(y), 200);
        Assert.Equal(a.Loss, b.Loss, 1e-5);
        Assert.Equal(a.Accuracy, b.Accuracy);
        for (int i = 0; i < logits.Parameters.Length; i++)
        {
            Assert.Equal(logits.Parameters.Span[i], probabilities.Parameters.Span[i], 1e-5f);
        }
    }

    [Fact]
    public void One_hot_targets_train_exactly_as_their_labels()
    {
        (float[] x, int[] y) = FitTests.Blobs(100, 7);
        float[] oneHot = new float[100 * 4];
        for (int i = 0; i < 100; i++)
        {
            oneHot[(i * 4) + y[i]] = 1;
        }

        Sequential a = FitTests.Model(3), b = FitTests.Model(3);
        History ha = a.Fit(x, y, new FitOptions { Epochs = 2 });
        History hb = b.Fit(x, oneHot, new FitOptions { Epochs = 2 });
        Assert.Equal(a.Parameters.ToArray(), b.Parameters.ToArray());
        Assert.Equal(ha.Accuracy, hb.Accuracy);
    }

    [Fact]
    public void The_training_loss_and_the_evaluation_loss_are_one_computation()
    {
        // Fix 6d: the step's loss (float) and Evaluate's (double) used to differ in the last digits. On one thread here;
        // on two, where the output layer's rows compute the loss, StepOutputRowsTests checks it
        // (The_loss_of_a_two_thread_step_is_the_loss_evaluate_gives).
        (float[] x, int[] y) = FitTests.Blobs(64, 8);
        Sequential model = FitTests.Model(5);
        TrainStepResult step = model.ComputeGradients(x, y, 64);
        Evaluation evaluation = model.Evaluate(x, y, 64, batchSize: 64);
        Assert.Equal(step.Loss, evaluation.Loss);
        Assert.Equal(step.Accuracy, evaluation.Accuracy);
    }

    [Fact]
    public void A_zero_weight_removes_a_sample_and_class_weights_are_sample_weights()
    {
        (float[] x, int[] y) = FitTests.Blobs(10, 9);
        Sequential model = FitTests.Model(2);
        float[] weights = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0];
        model.ComputeGradients(x, LossTargets.FromLabels(y, weights), 10);
        float[] weighted = model.Gradients.ToArray();
        model.ComputeGradients(x.AsSpan(0, 18), y.AsSpan(0, 9), 9);
        float[] without = model.Gradients.ToArray();
        for (int i = 0; i < weighted.Length; i++)
        {
            // Keras divides by the batch size whatever the weights: 10 against 9.
            Assert.Equal(without[i] * 0.9f, weighted[i], 1e-6f);
        }

        var classWeights = new Dictionary<int, float> { [0] = 3f, [2] = 0.5f };
        float[] asSampleWeights = [.. y.Select(c => classWeights.GetValueOrDefault(c, 1f))];
        Sequential a = FitTests.Model(4), b = FitTests.Model(4);
        a.Fit(x, y, new FitOptions { Epochs = 3, BatchSize = 4, ClassWeights = classWeights });
        b.Fit(x, y, new FitOptions { Epochs = 3, BatchSize = 4, SampleWeights = asSampleWeights });
        Assert.Equal(a.Parameters.ToArray(), b.Parameters.ToArray());

        // On bytes too, where the features were copied into floats first.
        byte[] pixels = [.. x.Select(v => (byte)Math.Clamp((v + 3) * 40, 0, 255))];
        Sequential onBytes = FitTests.Model(4), sampleWeighted = FitTests.Model(4);
        onBytes.Fit(Dataset.FromBytes(pixels, y, 2, 255f), new FitOptions { Epochs = 3, BatchSize = 4, ClassWeights = classWeights });
        sampleWeighted.Fit(Dataset.FromBytes(pixels, y, 2, 255f).WithSampleWeights(asSampleWeights), new FitOptions { Epochs = 3, BatchSize = 4 });
        Assert.Equal(onBytes.Parameters.ToArray(), sampleWeighted.Parameters.ToArray());

        // One output of 0/1 targets (binary cross-entropy): a target above ½ is class 1 (untested, it could weight every
        // sample as class 0).
        float[] binary = [.. y.Select(label => label % 2 == 1 ? 1f : 0f)];
        Sequential Binary()
        {
            var model = new Sequential(2, seed: 4).Add(new Dense(1));
            model.Compile(new BinaryCrossentropy(fromLogits: true), new Adam(0.05f));
            return model;
        }

        Sequential byClass = Binary(), bySample = Binary();
        byClass.Fit(x, binary, new FitOptions { Epochs = 3, BatchSize = 4, ClassWeights = new Dictionary<int, float> { [1] = 5f } });
        bySample.Fit(new Dataset(x, binary, 2, 1).WithSampleWeights([.. binary.Select(t => t > 0.5f ? 5f : 1f)]), new FitOptions { Epochs = 3, BatchSize = 4 });
        Assert.Equal(bySample.Parameters.ToArray(), byClass.Parameters.ToArray());

        var ex = Assert.Throws<ArgumentException>(() =>
            a.Fit(x, y, new FitOptions { ClassWeights = classWeights, SampleWeights = asSampleWeights }));
        Assert.Contains("not both", ex.Message, StringComparison.Ordinal);

        // A class no label can be was ignored (a weight meant for class 2 given as 7, or -1).
        foreach (int bad in new[] { 4, 7, -1 })
        {
            ex = Assert.Throws<ArgumentException>(() => a.Fit(x, y, new FitOptions { ClassWeights = new Dictionary<int, float> { [0] = 2f, [bad] = 3f } }));
            Assert.Contains($"ClassWeights names class {bad}, but the model's 4 output(s) give classes 0 to 3", ex.Message, StringComparison.Ordinal);
        }

        // A regression's values are not classes: 3.7 and -1.2 were weighted as classes 1 and 0 (a value above 0.5).
        // Rows of 0s and 1s under MSE (one-hot, as the course notebook's) are, and weigh as the labels would.
        var line = new Sequential(2, seed: 1).Add(new Dense(1));
        line.Compile(new MeanSquaredError(), new Adam());
        float[] values = [0f, 1f, 1f, 0f, 3.7f, 1f, -1.2f, 0f, 1f, 1f];
        ex = Assert.Throws<ArgumentException>(() => line.Fit(x, values, new FitOptions { ClassWeights = new Dictionary<int, float> { [0] = 2f } }));
        Assert.StartsWith("ClassWeights weight the classes of the targets, but target [4, 0] is 3.7, not a class (0 or 1) under the regression loss mean_squared_error", ex.Message, StringComparison.Ordinal);
        float[] oneHot = new float[10 * 4];
        for (int r = 0; r < 10; r++)
        {
            oneHot[(r * 4) + y[r]] = 1f;
        }

        Sequential c = FitTests.Model(4), d = FitTests.Model(4);
        c.Compile(new MeanSquaredError(), new Adam());
        d.Compile(new MeanSquaredError(), new Adam());
        c.Fit(x, oneHot, new FitOptions { Epochs = 2, BatchSize = 4, ClassWeights = classWeights });
        d.Fit(x, oneHot, new FitOptions { Epochs = 2, BatchSize = 4, SampleWeights = asSampleWeights });
        Assert.Equal(c.Parameters.ToArray(), d.Parameters.ToArray());

        // Too few or too many weights, for labels and for targets: the count is checked before the weights are sliced.
        foreach (int length in new[] { 9, 11 })
        {
            ex = Assert.Throws<ArgumentException>(() => a.Fit(x, y, new FitOptions { SampleWeights = new float[length] }));
            Assert.Contains($"one sample weight per sample: 10. Received: {length}", ex.Message, StringComparison.Ordinal);
            var regression = new Sequential(2, seed: 1).Add(new Dense(1));
            regression.Compile(new MeanSquaredError(), new Adam());
            ex = Assert.Throws<ArgumentException>(() => regression.Fit(x, new float[10], new FitOptions { SampleWeights = new float[length] }));
            Assert.Contains($"one sample weight per sample: 10. Received: {length}", ex.Message, StringComparison.Ordinal);
        }

        // A bad weight is blamed on the options that hold it, not on the labels or targets.
        foreach (float bad in new[] { -1f, float.NaN, float.PositiveInfinity })
        {
            float[] badWeights = [.. Enumerable.Repeat(1f, 10)];
            badWeights[3] = bad;
            ex = Assert.Throws<ArgumentException>(() => a.Fit(x, y, new FitOptions { SampleWeights = badWeights }));
            Assert.Equal("options", ex.ParamName);
            Assert.StartsWith("FitOptions.SampleWeights: sample weight 3 is", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_dataset_of_targets_with_weights_fits_and_evaluates()
    {
        (float[] x, float[] y) = Line(120, 3);
        var data = new Dataset(x, y, 1, 1).WithSampleWeights([.. Enumerable.Repeat(2f, 120)]);
        var model = new Sequential(1, seed: 1).Add(new Dense(1));
        model.Compile(new MeanSquaredError(), new Adam(0.05f));
        model.Fit(data, new FitOptions { Epochs = 30, BatchSize = 16, ValidationData = new Dataset(x, y, 1, 1) });
        Evaluation weighted = model.Evaluate(data), plain = model.Evaluate(new Dataset(x, y, 1, 1));
        Assert.Equal(2 * plain.Loss, weighted.Loss, 1e-9);
        Assert.Throws<InvalidOperationException>(() => data.Labels);
        var ex = Assert.Throws<ArgumentException>(() => new Dataset(x, y, 1, 1).WithSampleWeights([1f]));
        Assert.Contains("one weight per sample: 120", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => new Dataset(x, [.. y.Take(119), float.PositiveInfinity], 1, 1));
        Assert.Contains("targets[119, 0]", ex.Message, StringComparison.Ordinal);
    }
    [Fact]
    public void A_loss_of_ones_own_taking_more_labels_than_outputs_trains()
    {
        // An ordinal loss on one output takes labels 0..4 (LabelCount); the accuracy count refused every label above 1
        // and stopped Fit at its first step, although the loss had accepted them.
        var random = new Random(4);
        float[] x = [.. Enumerable.Range(0, 64).Select(_ => (float)random.NextDouble())];
        int[] y = [.. Enumerable.Range(0, 32).Select(i => i % 5)];
        var model = new Sequential(2, seed: 1).Add(new Dense(8)).Add(new Relu()).Add(new Dense(1));
        model.Compile(new CountLoss(), new Adam(0.01f));
        History history = model.Fit(x, y, new FitOptions { Epochs = 2, BatchSize = 16 });
        Assert.Equal(2, history.Epochs.Count);
        Assert.All(history.Loss, l => Assert.True(double.IsFinite(l)));
    }

    private sealed class CountLoss() : RegressionLoss(Reduction.Mean)
    {
        public override string Name => "count_mse";

        protected override int LabelCount(int outputs) => outputs == 1 ? 5 : outputs;

        protected override double ElementLoss(float output, float target, float scale, out float gradient)
        {
            float difference = output - target;
            gradient = 2 * scale * difference;
            return difference * difference;
        }
    }

    [Fact]
    public void Class_weights_leave_the_features_where_they_are()
    {
        // Every Fit with ClassWeights copied the whole feature matrix (as floats), and ran out of memory with a bare
        // OutOfMemoryException on data that trained without them.
        const int Count = 20_000, Features = 64;
        var random = new Random(3);
        float[] x = [.. Enumerable.Range(0, Count * Features).Select(_ => (float)random.NextDouble())];
        int[] y = [.. Enumerable.Range(0, Count).Select(i => i % 4)];
        var model = new Sequential(Features, seed: 1).Add(new Dense(4));
        model.Compile(new SoftmaxCrossEntropy(), new Adam());
        var options = new FitOptions { Epochs = 1, BatchSize = 1000, ClassWeights = new Dictionary<int, float> { [1] = 2f } };
        model.Fit(x, y, options);
        // The calling thread's count: Fit's setup (where the copy was made) runs on it, and the process-wide count
        // also holds what tests running beside this one allocate (3.6 MB in a CI run).
        long before = GC.GetAllocatedBytesForCurrentThread();
        model.Fit(x, y, options);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < Count * Features * sizeof(float) / 4, $"Fit with class weights allocated {allocated:N0} bytes; the features are {Count * Features * sizeof(float):N0}.");
    }
}
