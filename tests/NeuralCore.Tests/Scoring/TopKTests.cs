using NeuralCore.Losses;
using NeuralCore.Scoring;

namespace NeuralCore.Tests.Scoring;

public class TopKTests
{
    [Fact]
    public void Top_k_by_hand_with_ties_counted_as_in_keras()
    {
        float[] scores =
        [
            0.1f, 0.6f, 0.3f, // label 2: second highest
            0.5f, 0.2f, 0.3f, // label 1: third
            0.4f, 0.4f, 0.2f, // label 1: tied first with class 0, so in the top 1
            0.2f, 0.2f, 0.2f, // label 0: all tied, in the top 1
        ];
        int[] labels = [2, 1, 1, 0];
        Assert.Equal(2, Metrics.CountInTopK(scores, labels, 4, 3, 1));
        Assert.Equal(3, Metrics.CountInTopK(scores, labels, 4, 3, 2));
        Assert.Equal(4, Metrics.CountInTopK(scores, labels, 4, 3, 3));
        Assert.Equal(0.75, Metrics.TopKAccuracy(scores, labels, 4, 3, 2), 15);
    }

    [Fact]
    public void Top_1_without_ties_is_accuracy()
    {
        var random = new Random(3);
        float[] scores = [.. Enumerable.Range(0, 500).Select(_ => (float)random.NextDouble())];
        int[] labels = [.. Enumerable.Range(0, 50).Select(_ => random.Next(10))];
        Assert.Equal(Metrics.CountCorrect(scores, labels, 50, 10), Metrics.CountInTopK(scores, labels, 50, 10, 1));
    }

    [Fact]
    public void Bad_arguments_name_the_problem()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Metrics.CountInTopK([0.1f, 0.9f], [1], 1, 2, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Metrics.CountInTopK([0.1f, 0.9f], [1], 1, 2, 0));
        var label = Assert.Throws<ArgumentException>(() => Metrics.CountInTopK([0.1f, 0.9f], [2], 1, 2, 1));
        Assert.Contains("labels[0] = 2", label.Message, StringComparison.Ordinal);
        Assert.Equal(0, Metrics.CountInTopK([float.NaN, 0.9f], [0], 1, 2, 2));
        // A NaN elsewhere in the row also makes it a miss, as accuracy would count it.
        Assert.Equal(0, Metrics.CountInTopK([float.NaN, 0.1f, 0.2f], [2], 1, 3, 1));
        // So does an infinity, the label's own or another's (TensorFlow's in_top_k; the label's +inf counted as a hit).
        Assert.Equal(0, Metrics.CountInTopK([float.PositiveInfinity, 0f, 1f], [0], 1, 3, 1));
        Assert.Equal(0, Metrics.CountInTopK([float.NegativeInfinity, 0f, 1f], [2], 1, 3, 1));

        // Accuracy refuses what top-k refuses (a label of 7 or -1 counted as a miss), and an undefined kind or a NaN
        // threshold (both counted something).
        foreach (int bad in new[] { -1, 7 })
        {
            Assert.Contains($"labels[0] = {bad} is outside [0, 3)",
                Assert.Throws<ArgumentException>(() => Metrics.CountCorrect([0.1f, 0.2f, 0.7f], [bad], 1, 3)).Message, StringComparison.Ordinal);
            // The targets overload takes labels as a loss accepted them (a loss of one's own may take more): a miss.
            Assert.Equal((0, 1), Metrics.CountCorrect([0.1f, 0.2f, 0.7f], LossTargets.FromLabels([bad]), 1, 3, AccuracyKind.Categorical, 0.5f));
        }

        Assert.Equal((0, 1), Metrics.CountCorrect([0.7f], LossTargets.FromLabels([2]), 1, 1, AccuracyKind.Binary, 0.5f));
        Assert.Equal("kind", Assert.Throws<ArgumentOutOfRangeException>(() =>
            Metrics.CountCorrect([0.7f], LossTargets.FromLabels([1]), 1, 1, (AccuracyKind)99, 0.5f)).ParamName);
        // Outputs had been refused as classes, a name this overload's caller never wrote.
        Assert.Equal("outputs", Assert.Throws<ArgumentOutOfRangeException>(() =>
            Metrics.CountCorrect([0.7f], LossTargets.FromLabels([1]), 1, 0, AccuracyKind.Binary, 0.5f)).ParamName);
        Assert.Equal("threshold", Assert.Throws<ArgumentOutOfRangeException>(() =>
            Metrics.CountCorrect([0.7f], LossTargets.FromLabels([1]), 1, 1, AccuracyKind.Binary, float.NaN)).ParamName);
    }

    [Fact]
    public void A_NaN_output_is_never_correct()
    {
        // Rows of NaN counted as class 0 (IndexOfMax names the first NaN) and as negatives on a binary output, so a
        // model whose outputs were all NaN scored about one in ten on MNIST beside its NaN loss.
        float nan = float.NaN;
        Assert.Equal(0, Metrics.CountCorrect([nan, nan, nan], [0], 1, 3));
        Assert.Equal(0, Metrics.CountCorrect([0.9f, nan, 0.1f], [0], 1, 3));
        Assert.Equal(1, Metrics.CountCorrect([nan, nan, nan, 0.9f, 0.05f, 0.05f], [0, 0], 2, 3));
        Assert.Equal((0, 1), Metrics.CountCorrect([nan, 0.2f], LossTargets.FromLabels([0]), 1, 2, AccuracyKind.Categorical, 0.5f));
        Assert.Equal((0, 1), Metrics.CountCorrect([nan, 0.2f], LossTargets.FromValues([1f, 0f]), 1, 2, AccuracyKind.Categorical, 0.5f));
        Assert.Equal((0, 2), Metrics.CountCorrect([nan, nan], LossTargets.FromLabels([0, 1]), 2, 1, AccuracyKind.Binary, 0.5f));
        Assert.Equal((1, 2), Metrics.CountCorrect([nan, 0.1f], LossTargets.FromValues([0f, 0f]), 2, 1, AccuracyKind.Binary, 0.5f));
    }
}
