using NeuralCore.Losses;
using NeuralCore.Scoring;

namespace NeuralCore.Tests.Scoring;

public class RegressionMetricsTests
{
    [Fact]
    public void Metrics_by_hand()
    {
        // Targets 1, 2, 3, 4 (mean 2.5, SST 5); errors 0.5, -0.5, 0, 1 (SSE 1.5, |e| 2).
        RegressionMetrics m = Metrics.Regression([1.5f, 1.5f, 3f, 5f], [1f, 2f, 3f, 4f], 1);
        Assert.Equal(0.5, m.MeanAbsoluteError, 12);
        Assert.Equal(0.375, m.MeanSquaredError, 12);
        Assert.Equal(Math.Sqrt(0.375), m.RootMeanSquaredError, 12);
        Assert.Equal(1 - (1.5 / 5), m.R2, 12);
    }

    [Fact]
    public void R2_averages_the_outputs()
    {
        // Output 0: targets 0, 2 (SST 2), errors 1, 1 (SSE 2) -> 0. Output 1: targets 1, 3, predicted exactly -> 1.
        RegressionMetrics m = Metrics.Regression([1f, 1f, 3f, 3f], [0f, 1f, 2f, 3f], 2);
        Assert.Equal(0.5, m.R2, 12);
    }

    [Theory]
    [InlineData(0.1f, 1000)]
    [InlineData(3.3f, 1000)]
    [InlineData(1234.567f, 12345)]
    [InlineData(123456.79f, 1000)]
    public void Constant_targets_score_0_when_missed_and_1_when_hit(float target, int count)
    {
        // scikit-learn's r2_score. Σt² - n·mean² left a rounding residue here, and R² read -2.7e16 for 0.1.
        float[] targets = [.. Enumerable.Repeat(target, count)];
        float[] missed = [.. Enumerable.Repeat(target + 1, count)];
        Assert.Equal(0, Metrics.Regression(missed, targets, 1).R2);
        Assert.Equal(1, Metrics.Regression(targets, targets, 1).R2);
    }

    [Fact]
    public void R2_of_targets_far_from_zero_matches_a_two_pass_reference()
    {
        // Targets 1e8 + {0, 16, 32, 48}: every float exact, the spread tiny against the offset.
        int count = 1000;
        float[] targets = [.. Enumerable.Range(0, count).Select(i => 1e8f + (i % 4 * 16))];
        float[] predictions = [.. Enumerable.Range(0, count).Select(i => targets[i] + (((i % 3) - 1) * 16))];
        Assert.Equal(TwoPassR2(predictions, targets), Metrics.Regression(predictions, targets, 1).R2, 12);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(500)]
    public void R2_over_batches_is_the_whole_sets(int batch)
    {
        var random = new Random(5);
        int count = 500;
        float[] targets = [.. Enumerable.Range(0, count).Select(_ => 50f + (float)random.NextDouble())];
        float[] predictions = [.. targets.Select(t => t + (float)(random.NextDouble() - 0.5))];
        var set = new MetricSet(["r2"], 1);
        for (int first = 0; first < count; first += batch)
        {
            int rows = Math.Min(batch, count - first);
            set.AddPredictions(predictions.AsSpan(first, rows), LossTargets.FromValues(targets.AsSpan(first, rows)), rows);
        }

        var values = new Dictionary<string, double>();
        set.WriteTo(values, "");
        Assert.Equal(TwoPassR2(predictions, targets), values["r2"], 12);
    }

    // 1 - SSE/SST with the mean taken first, in double.
    private static double TwoPassR2(float[] predictions, float[] targets)
    {
        double mean = targets.Average(t => (double)t);
        double sst = targets.Sum(t => ((double)t - mean) * ((double)t - mean));
        double sse = targets.Select((t, i) => (double)predictions[i] - t).Sum(e => e * e);
        return 1 - (sse / sst);
    }
}
