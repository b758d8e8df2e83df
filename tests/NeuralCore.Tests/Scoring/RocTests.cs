using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NeuralCore.Scoring;

namespace NeuralCore.Tests.Scoring;

public class RocTests
{
    [Fact]
    public void Binary_curve_by_hand()
    {
        // Thresholds 0.8, 0.4, 0.35, 0.1: positives at 0.35 and 0.8, negatives at 0.1 and 0.4 (scikit-learn's example).
        RocCurve roc = RocCurve.Compute([0.1f, 0.4f, 0.35f, 0.8f], [false, false, true, true]);
        Assert.Equal([0, 0, 0.5, 0.5, 1], roc.FalsePositiveRates);
        Assert.Equal([0, 0.5, 0.5, 1, 1], roc.TruePositiveRates);
        Assert.Equal([float.PositiveInfinity, 0.8f, 0.4f, 0.35f, 0.1f], roc.Thresholds);
        Assert.Equal(0.75, roc.Auc, 15);
        Assert.Equal(2, roc.Positives);
        Assert.Equal(2, roc.Negatives);
    }

    [Fact]
    public void Tied_scores_cross_the_threshold_together()
    {
        // One threshold: all four at once, so the curve is the diagonal and the area one half.
        RocCurve roc = RocCurve.Compute([0.5f, 0.5f, 0.5f, 0.5f], [true, false, true, false]);
        Assert.Equal([0, 1], roc.FalsePositiveRates);
        Assert.Equal([0, 1], roc.TruePositiveRates);
        Assert.Equal(0.5, roc.Auc, 15);

        // 0.9 (pos), then 0.5 tied between one positive and one negative, then 0.1 (neg): (0,0) (0,½) (½,1) (1,1).
        RocCurve partly = RocCurve.Compute([0.9f, 0.5f, 0.5f, 0.1f], [true, true, false, false]);
        Assert.Equal([0, 0, 0.5, 1], partly.FalsePositiveRates);
        Assert.Equal([0, 0.5, 1, 1], partly.TruePositiveRates);
        Assert.Equal(0.875, partly.Auc, 15);
    }

    [Fact]
    public void Dropping_collinear_points_keeps_the_shape_and_the_area()
    {
        // Three positives on top, then three negatives: the full curve climbs through (0,⅓) and (0,⅔), then runs
        // through (⅓,1) and (⅔,1). scikit-learn's default drops (0,⅔), (⅓,1) and (⅔,1), which lie inside straight
        // runs; it keeps the first point after the start.
        float[] scores = [0.9f, 0.8f, 0.7f, 0.3f, 0.2f, 0.1f];
        bool[] truth = [true, true, true, false, false, false];
        RocCurve full = RocCurve.Compute(scores, truth, dropIntermediate: false);
        RocCurve dropped = RocCurve.Compute(scores, truth);
        Assert.Equal(7, full.FalsePositiveRates.Count);
        Assert.Equal([0, 0, 0, 1], dropped.FalsePositiveRates);
        Assert.Equal([0, 1.0 / 3, 1, 1], dropped.TruePositiveRates);
        Assert.Equal(1, full.Auc, 15);
        Assert.Equal(1, dropped.Auc, 15);
    }

    [Fact]
    public void Interpolation_takes_the_top_of_a_vertical_run()
    {
        RocCurve roc = RocCurve.Compute([0.1f, 0.4f, 0.35f, 0.8f], [false, false, true, true]);
        Assert.Equal(0.5, roc.TruePositiveRateAt(0), 15);   // (0,0) then (0,½): the higher
        Assert.Equal(1, roc.TruePositiveRateAt(0.5), 15);   // (½,½) then (½,1)
        Assert.Equal(1, roc.TruePositiveRateAt(0.75), 15);
        Assert.Throws<ArgumentOutOfRangeException>(() => roc.TruePositiveRateAt(1.5));
    }

    [Fact]
    public void Undefined_curves_and_bad_scores_are_refused_with_the_reason()
    {
        var none = Assert.Throws<ArgumentException>(() => RocCurve.Compute([0.2f, 0.3f], [false, false]));
        Assert.Contains("0 positive(s) and 2 negative(s)", none.Message, StringComparison.Ordinal);
        var nan = Assert.Throws<ArgumentException>(() => RocCurve.Compute([0.2f, float.NaN], [false, true]));
        Assert.Contains("scores[1] is NaN", nan.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => RocCurve.Compute([0.2f], [false, true]));
    }

    /// <summary>The area equals the Mann-Whitney statistic: the share of (positive, negative) pairs ordered right, ties ½.</summary>
    [Property(MaxTest = 200)]
    public Property Auc_is_the_probability_that_a_positive_outranks_a_negative()
    {
        Gen<(float Score, bool Positive)[]> samples =
            Gen.ArrayOf(Gen.Zip(Gen.Choose(0, 12).Select(v => v / 12f), Gen.Elements(true, false)).Select(t => (Score: t.Item1, Positive: t.Item2)))
               .Where(a => a.Any(s => s.Positive) && a.Any(s => !s.Positive));
        return Prop.ForAll(samples.ToArbitrary(), data =>
        {
            float[] scores = [.. data.Select(d => d.Score)];
            bool[] truth = [.. data.Select(d => d.Positive)];
            double pairs = 0, won = 0;
            foreach (var p in data.Where(d => d.Positive))
            {
                foreach (var n in data.Where(d => !d.Positive))
                {
                    pairs++;
                    won += p.Score > n.Score ? 1 : p.Score == n.Score ? 0.5 : 0;
                }
            }

            RocCurve roc = RocCurve.Compute(scores, truth);
            RocCurve full = RocCurve.Compute(scores, truth, dropIntermediate: false);
            return Math.Abs(roc.Auc - (won / pairs)) < 1e-12
                && Math.Abs(full.Auc - roc.Auc) < 1e-12
                && roc.FalsePositiveRates[0] == 0 && roc.TruePositiveRates[0] == 0
                && roc.FalsePositiveRates[^1] == 1 && roc.TruePositiveRates[^1] == 1;
        });
    }

    [Property(MaxTest = 300)]
    public Property Every_float_orders_as_a_comparison_sort_orders_it()
    {
        // Scores of any sign and size, both zeros (one score, as == says) and both infinities: the curve's points and
        // thresholds are those of sorting by comparison and grouping equal scores.
        float[] values = [float.NegativeInfinity, -float.MaxValue, -3.5f, -1f, -float.Epsilon, -0f, 0f, float.Epsilon, 1e-30f, 0.25f, 1f, 7e20f, float.PositiveInfinity];
        Gen<(float Score, bool Positive)[]> samples =
            Gen.ArrayOf(Gen.Zip(Gen.Elements(values), Gen.Elements(true, false)).Select(t => (Score: t.Item1, Positive: t.Item2)))
               .Where(a => a.Any(s => s.Positive) && a.Any(s => !s.Positive));
        return Prop.ForAll(samples.ToArbitrary(), data =>
        {
            var fpr = new List<double> { 0 };
            var tpr = new List<double> { 0 };
            var thresholds = new List<float> { float.PositiveInfinity };
            long positives = data.Count(d => d.Positive), negatives = data.Length - positives, tp = 0, fp = 0;
            foreach (var tie in data.GroupBy(d => d.Score + 0f).OrderByDescending(g => g.Key))
            {
                tp += tie.Count(d => d.Positive);
                fp += tie.Count(d => !d.Positive);
                fpr.Add((double)fp / negatives);
                tpr.Add((double)tp / positives);
                thresholds.Add(tie.Key);
            }

            RocCurve roc = RocCurve.Compute([.. data.Select(d => d.Score)], [.. data.Select(d => d.Positive)], dropIntermediate: false);
            return roc.FalsePositiveRates.SequenceEqual(fpr) && roc.TruePositiveRates.SequenceEqual(tpr)
                && roc.Thresholds.Select(BitConverter.SingleToInt32Bits).SequenceEqual(thresholds.Select(BitConverter.SingleToInt32Bits));
        });
    }

    [Fact]
    public void Three_classes_by_hand()
    {
        // Rows: label, then scores for classes 0, 1, 2.
        // 0: .7 .2 .1   0: .4 .5 .1   1: .3 .6 .1   1: .2 .3 .5   2: .1 .1 .8   2: .5 .1 .4
        float[] scores = [.7f, .2f, .1f, .4f, .5f, .1f, .3f, .6f, .1f, .2f, .3f, .5f, .1f, .1f, .8f, .5f, .1f, .4f];
        int[] labels = [0, 0, 1, 1, 2, 2];
        MulticlassRoc roc = MulticlassRoc.Compute(scores, labels, 6, 3);
        // Class 0 scores: positives .7 .4, negatives .3 .2 .1 .5: pairs won .7 beats all 4, .4 beats 3 → 7/8.
        Assert.Equal(7.0 / 8, roc.Classes[0].Auc, 15);
        // Class 1: positives .6 .3, negatives .2 .5 .1 .1: .6 beats 4, .3 beats 3 → 7/8.
        Assert.Equal(7.0 / 8, roc.Classes[1].Auc, 15);
        // Class 2: positives .8 .4, negatives .1 .1 .1 .5: .8 beats 4, .4 beats 3 → 7/8.
        Assert.Equal(7.0 / 8, roc.Classes[2].Auc, 15);
        Assert.Equal(7.0 / 8, roc.MacroAuc, 15);

        // Micro: 6 positives (the true classes' scores .7 .4 .6 .3 .8 .4) against the 12 other scores.
        float[] positives = [.7f, .4f, .6f, .3f, .8f, .4f];
        float[] negatives = [.2f, .1f, .5f, .1f, .3f, .1f, .2f, .5f, .1f, .1f, .5f, .1f];
        double won = positives.Sum(p => negatives.Sum(n => p > n ? 1.0 : p == n ? 0.5 : 0));
        Assert.Equal(won / 72, roc.MicroAuc, 15);

        Assert.Equal(0, roc.Macro.FalsePositiveRates[0]);
        Assert.Equal(0, roc.Macro.TruePositiveRates[0]);
        Assert.Equal(1, roc.Macro.TruePositiveRates[^1]);
    }

    [Fact]
    public void The_macro_curve_is_the_mean_of_the_class_curves()
    {
        // Class 0's curve runs (0, 0) → (1/2, 0) → (1/2, 1) → (1, 1): a negative scores .9 above both positives (.5), the
        // other .1 below. Class 1's is perfect: (0, 0) → (0, 1) → (1, 1). Their mean is 1/2 on (0, 1/2), then 1: an area
        // of 3/4, the mean of the AUCs 1/2 and 1. Sampling only each rise's top at the union of the rates {0, 1/2, 1}
        // drew a slope from (0, 1/2) to (1/2, 1) instead, enclosing 7/8.
        // Rows: the scores of classes 0 and 1.
        float[] scores = [.5f, .1f, .5f, .2f, .9f, .8f, .1f, .7f];
        int[] labels = [0, 0, 1, 1];
        MulticlassRoc roc = MulticlassRoc.Compute(scores, labels, 4, 2);
        Assert.Equal(0.5, roc.Classes[0].Auc, 15);
        Assert.Equal(1.0, roc.Classes[1].Auc, 15);
        Assert.Equal(0.75, roc.MacroAuc, 15);
        Assert.Equal(0.75, roc.Macro.Auc, 15);
        Assert.Equal(0.5, roc.Macro.TruePositiveRateAt(0.25), 15);
        Assert.Equal(1.0, roc.Macro.TruePositiveRateAt(0.5), 15);
        Assert.Equal(0, roc.Macro.FalsePositiveRates[0]);
        Assert.Equal(0, roc.Macro.TruePositiveRates[0]);
        Assert.Equal(1, roc.Macro.TruePositiveRates[^1]);
    }

    [Fact]
    public void Macro_curve_area_equals_the_mean_auc_on_random_scores()
    {
        var random = new Random(19);
        for (int trial = 0; trial < 200; trial++)
        {
            int classes = random.Next(2, 6), count = random.Next(2 * classes, 40);
            int[] labels = [.. Enumerable.Range(0, count).Select(i => i < classes ? i : random.Next(classes))];
            // One decimal: many ties, so many vertical rises.
            float[] scores = [.. Enumerable.Range(0, count * classes).Select(_ => MathF.Round(random.NextSingle(), 1))];
            MulticlassRoc roc = MulticlassRoc.Compute(scores, labels, count, classes);
            Assert.Equal(roc.MacroAuc, roc.Macro.Auc, 12);
        }
    }

    [Fact]
    public void A_class_without_samples_is_named()
    {
        var ex = Assert.Throws<ArgumentException>(() => MulticlassRoc.Compute([.5f, .5f, .5f, .3f, .3f, .4f], [0, 2], 2, 3));
        Assert.Contains("Class 1 has 0 of the 2 samples", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => MulticlassRoc.Compute([.5f, .5f], [0, 3], 1, 2));
        var nan = Assert.Throws<ArgumentException>(() => MulticlassRoc.Compute([.5f, .5f, .3f, float.NaN], [0, 1], 2, 2));
        Assert.Contains("scores[1, 1] is NaN", nan.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Matches_scikit_learn()
    {
        using JsonDocument golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Scoring", "golden_roc.json")));
        JsonElement root = golden.RootElement;
        int count = root.GetProperty("count").GetInt32(), classes = root.GetProperty("classes").GetInt32();
        int[] labels = [.. root.GetProperty("labels").EnumerateArray().Select(e => e.GetInt32())];
        float[] scores = [.. root.GetProperty("scores").EnumerateArray().Select(e => (float)e.GetDouble())];
        MulticlassRoc roc = MulticlassRoc.Compute(scores, labels, count, classes);
        for (int c = 0; c < classes; c++)
        {
            JsonElement expected = root.GetProperty("per_class")[c];
            Assert.Equal(Doubles(expected.GetProperty("fpr")), roc.Classes[c].FalsePositiveRates, Tolerance);
            Assert.Equal(Doubles(expected.GetProperty("tpr")), roc.Classes[c].TruePositiveRates, Tolerance);
            Assert.Equal(Doubles(expected.GetProperty("thresholds")), roc.Classes[c].Thresholds.Skip(1).Select(t => (double)t), Tolerance);
            Assert.Equal(expected.GetProperty("auc").GetDouble(), roc.Classes[c].Auc, 12);
        }

        Assert.Equal(root.GetProperty("micro_auc").GetDouble(), roc.MicroAuc, 12);
        Assert.Equal(root.GetProperty("macro_auc").GetDouble(), roc.MacroAuc, 12);
        Assert.Equal(Doubles(root.GetProperty("micro_fpr")), roc.Micro.FalsePositiveRates, Tolerance);

        // The macro curve against NumPy's interpolation, as scikit-learn's examples compute it: at the union of the class
        // curves' rates (before 1.2; the top of each vertical rise) and on 1,000 evenly spaced rates (1.2).
        double[] macroFpr = Doubles(root.GetProperty("macro_fpr")), macroTpr = Doubles(root.GetProperty("macro_tpr"));
        for (int g = 0; g < macroFpr.Length; g++)
        {
            Assert.Equal(macroTpr[g], roc.Macro.TruePositiveRateAt(macroFpr[g]), 9);
        }

        double[] gridTpr = Doubles(root.GetProperty("macro_grid_tpr"));
        for (int g = 0; g < gridTpr.Length; g++)
        {
            Assert.Equal(gridTpr[g], roc.Macro.TruePositiveRateAt(g / (gridTpr.Length - 1.0)), 9);
        }

        // The exact mean curve encloses the mean AUC; the 1,000-rate grid comes within its spacing. The union's tops
        // enclosed 0.911228, 2e-4 more.
        Assert.Equal(root.GetProperty("macro_auc").GetDouble(), roc.Macro.Auc, 12);
        Assert.Equal(root.GetProperty("macro_grid_auc").GetDouble(), roc.Macro.Auc, 3);
        Assert.Equal(Doubles(root.GetProperty("micro_tpr")), roc.Micro.TruePositiveRates, Tolerance);

        int[] predicted = [.. root.GetProperty("predicted").EnumerateArray().Select(e => e.GetInt32())];
        var report = new ClassificationReport(new ConfusionMatrix(labels, predicted, classes));
        Assert.Equal(root.GetProperty("report").GetString(), report.ToString(4));

        float[] logits = [.. root.GetProperty("logits").EnumerateArray().Select(e => (float)e.GetDouble())];
        Assert.Equal(root.GetProperty("top2").GetDouble(), Metrics.TopKAccuracy(logits, labels, count, classes, 2), 12);
        Assert.Equal(root.GetProperty("top3").GetDouble(), Metrics.TopKAccuracy(logits, labels, count, classes, 3), 12);
    }

    private static readonly IEqualityComparer<double> Tolerance =
        EqualityComparer<double>.Create((a, b) => Math.Abs(a - b) <= 1e-9, a => 0);

    private static double[] Doubles(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetDouble())];
}
