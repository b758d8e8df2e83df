using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Scoring;
using NeuralCore.Tests.Training;
using NeuralCore.Training;

namespace NeuralCore.Tests.Scoring;

/// <summary>
/// The <c>precision</c>, <c>recall</c> and <c>auc</c> metrics (<see cref="MetricSet"/>) against hand counts, against
/// the exact area by pairs (Mann-Whitney) where Keras's 200 buckets separate the predictions, and in Fit.
/// </summary>
public class ConfusionMetricsTests
{
    private static Dictionary<string, double> Measure(float[] predictions, LossTargets targets, int batch, int outputs, params string[] names)
    {
        var set = new MetricSet(names, outputs);
        // In two batches, as an epoch adds them.
        int half = batch / 2;
        set.AddPredictions(predictions.AsSpan(0, half * outputs), Slice(targets, 0, half, outputs), half);
        set.AddPredictions(predictions.AsSpan(half * outputs), Slice(targets, half, batch - half, outputs), batch - half);
        var values = new Dictionary<string, double>();
        set.WriteTo(values, "");
        return values;
    }

    private static LossTargets Slice(LossTargets targets, int first, int count, int outputs) => targets.HasLabels
        ? LossTargets.FromLabels(targets.Labels.Slice(first, count))
        : LossTargets.FromValues(targets.Values.Slice(first * outputs, count * outputs));

    // The exact ROC area: the share of (positive, negative) pairs ordered right, ties counting half.
    private static double PairArea(float[] scores, bool[] truth)
    {
        double right = 0;
        long pairs = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            for (int k = 0; k < scores.Length; k++)
            {
                if (truth[i] && !truth[k])
                {
                    pairs++;
                    right += scores[i] > scores[k] ? 1 : scores[i] == scores[k] ? 0.5 : 0;
                }
            }
        }

        return right / pairs;
    }

    [Fact]
    public void Precision_and_recall_count_every_output_above_one_half_as_kerass_do()
    {
        // One output, targets 0/1: predicted positive above 0.5 (0.5 itself is not), true where the target is not 0.
        float[] p = [0.9f, 0.5f, 0.7f, 0.2f, 0.6f, 0.1f];
        float[] t = [1f, 1f, 0f, 1f, 1f, 0f];
        Dictionary<string, double> m = Measure(p, LossTargets.FromValues(t), 6, 1, "precision", "recall");
        // TP: 0.9, 0.6; FP: 0.7; FN: 0.5, 0.2.
        Assert.Equal(2.0 / 3, m["precision"], 12);
        Assert.Equal(2.0 / 4, m["recall"], 12);

        // Class labels over three softmax outputs: each row's one-hot entries, nine decisions.
        float[] q = [0.8f, 0.1f, 0.1f, 0.3f, 0.6f, 0.1f, 0.4f, 0.4f, 0.2f];
        m = Measure(q, LossTargets.FromLabels([0, 0, 2]), 3, 3, "precision", "recall");
        // Positive: (0,0) 0.8 true, (1,1) 0.6 false. Truths (0,0), (1,0), (2,2): TP 1, FP 1, FN 2.
        Assert.Equal(0.5, m["precision"], 12);
        Assert.Equal(1.0 / 3, m["recall"], 12);

        // Nothing predicted positive, or nothing positive: 0, as Keras's divide_no_nan.
        m = Measure([0.1f, 0.2f], LossTargets.FromValues([0f, 0f]), 2, 1, "precision", "recall");
        Assert.Equal((0.0, 0.0), (m["precision"], m["recall"]));
    }

    [Fact]
    public void Auc_is_the_exact_area_where_the_buckets_separate_the_predictions()
    {
        // Predictions at the middle of Keras's buckets ((k + 0.5)/199), equal ones sharing a bucket, with ties across
        // classes: no bucket holds two different values, so the thresholds see every step of the ROC curve and the
        // trapezoids are the exact area, ties included.
        var random = new Random(3);
        int n = 400;
        float[] scores = new float[n];
        bool[] truth = new bool[n];
        float[] targets = new float[n];
        for (int i = 0; i < n; i++)
        {
            truth[i] = random.NextDouble() < 0.3;
            int bucket = Math.Clamp((int)((truth[i] ? 0.6 : 0.4) * 199 + (random.NextDouble() - 0.5) * 120), 0, 198);
            scores[i] = (bucket + 0.5f) / 199f;
            targets[i] = truth[i] ? 1f : 0f;
        }

        double auc = Measure(scores, LossTargets.FromValues(targets), n, 1, "auc")["auc"];
        double exact = PairArea(scores, truth);
        Assert.InRange(exact, 0.6, 0.95);
        Assert.Equal(exact, auc, 12);

        // Perfectly separated, reversed, and one class only (recall or the false positive rate 0 throughout: 0).
        Assert.Equal(1.0, Measure([0.9f, 0.8f, 0.2f, 0.1f], LossTargets.FromValues([1f, 1f, 0f, 0f]), 4, 1, "auc")["auc"], 12);
        Assert.Equal(0.0, Measure([0.1f, 0.2f, 0.8f, 0.9f], LossTargets.FromValues([1f, 1f, 0f, 0f]), 4, 1, "auc")["auc"], 12);
        Assert.Equal(0.0, Measure([0.1f, 0.7f], LossTargets.FromValues([1f, 1f]), 2, 1, "auc")["auc"], 12);
    }

    [Fact]
    public void Auc_of_continuous_scores_is_within_the_buckets_width_of_the_exact_area_and_clips_what_is_outside()
    {
        var random = new Random(5);
        int n = 1000;
        float[] scores = new float[n];
        bool[] truth = new bool[n];
        float[] targets = new float[n];
        for (int i = 0; i < n; i++)
        {
            truth[i] = random.NextDouble() < 0.5;
            scores[i] = (float)Math.Clamp((truth[i] ? 0.55 : 0.45) + ((random.NextDouble() - 0.5) * 0.6), 0, 1);
            targets[i] = truth[i] ? 1f : 0f;
        }

        double auc = Measure(scores, LossTargets.FromValues(targets), n, 1, "auc")["auc"];
        Assert.InRange(auc - PairArea(scores, truth), -0.01, 0.01);

        // Beyond [0, 1] a prediction counts as its nearest end (Keras clips).
        double clipped = Measure([1.7f, -3f, 0.5f, 0.2f], LossTargets.FromValues([1f, 0f, 1f, 0f]), 4, 1, "auc")["auc"];
        Assert.Equal(Measure([1f, 0f, 0.5f, 0.2f], LossTargets.FromValues([1f, 0f, 1f, 0f]), 4, 1, "auc")["auc"], clipped, 12);
        Assert.Equal(1.0, clipped, 12);

        // A NaN is left out of the curve, as TensorFlow's and JAX's segment sums drop it: as the lowest value, this
        // positive would rank below the negative and halve the area.
        Assert.Equal(1.0, Measure([0.9f, 0.1f, float.NaN, 0.8f], LossTargets.FromValues([1f, 0f, 1f, 1f]), 4, 1, "auc")["auc"], 12);
    }

    [Fact]
    public void Auc_places_predictions_on_kerass_thresholds_as_keras_does()
    {
        // Predictions exactly on the thresholds (k/199 in float32), where Keras's bucket ⌈199·p⌉ − 1 puts k/199 below
        // threshold k (floor(199·p) would count it above, 0.5513 here), beyond [0, 1] (clipped), and targets that are
        // true where not 0 (0.3 and −1 too). Expected: keras_auc.py, Keras 3's AUC() transcribed in numpy float32.
        int[] ks = [0, 1, 1, 2, 3, 3, 50, 51, 51, 99, 100, 100, 101, 150, 151, 151, 197, 198, 198, 199, 199];
        float[] predictions = [.. ks.Select(k => k / 199f), -0.25f, 1.25f, 0.5f, MathF.BitIncrement(0.5f)];
        float[] targets = [0, 1, 0, 0.3f, 0, -1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0];
        double auc = Measure(predictions, LossTargets.FromValues(targets), targets.Length, 1, "auc")["auc"];
        Assert.Equal(0.5480769276618958, auc, 6);
    }

    [Fact]
    public void Nothing_measured_is_nan_and_a_reset_starts_again()
    {
        var set = new MetricSet(["auc", "precision", "recall"], 1);
        var values = new Dictionary<string, double>();
        set.WriteTo(values, "val_");
        Assert.All(values.Values, v => Assert.True(double.IsNaN(v)));
        set.AddPredictions([0.9f, 0.1f], LossTargets.FromValues([1f, 0f]), 2);
        set.Reset();
        set.AddPredictions([0.1f, 0.9f], LossTargets.FromValues([1f, 0f]), 2);
        set.WriteTo(values, "val_");
        Assert.Equal((0.0, 0.0, 0.0), (values["val_auc"], values["val_precision"], values["val_recall"]));
    }

    [Fact]
    public void Fit_reports_them_and_early_stopping_maximizes_them()
    {
        (float[] x, int[] y) = FitTests.Blobs(400, 2);
        int[] binary = [.. y.Select(c => c % 2)];
        var model = new Sequential(2, seed: 4).Add(new Dense(8)).Add(new Relu()).Add(new Dense(1));
        model.Compile(new BinaryCrossentropy(fromLogits: true), new Adam(0.02f), metrics: ["accuracy", "auc", "precision", "recall"]);
        var stopping = new EarlyStopping(monitor: "val_auc", patience: 2);
        History history = model.Fit(x, binary, new FitOptions { Epochs = 8, ValidationSplit = 0.25, Callbacks = [stopping] });
        foreach (string name in new[] { "auc", "precision", "recall", "val_auc", "val_precision", "val_recall" })
        {
            Assert.All(history.Metric(name), v => Assert.InRange(v, 0, 1));
        }

        // The blobs' classes 0/1 against 2/3 split on the first feature: learned almost at once.
        Assert.True(history.Metric("val_auc")[^1] > 0.95, $"val_auc {history.Metric("val_auc")[^1]}");
        Assert.True(Monitoring.Maximizes("val_auc", MonitorMode.Auto) && Monitoring.Maximizes("precision", MonitorMode.Auto)
            && Monitoring.Maximizes("val_recall", MonitorMode.Auto));
        Evaluation evaluation = model.Evaluate(x, binary, binary.Length);
        Assert.InRange(evaluation.Metrics["auc"], 0.95, 1.0);
    }
}
