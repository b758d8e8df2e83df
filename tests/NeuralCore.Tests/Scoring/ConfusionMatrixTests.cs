using NeuralCore.Scoring;

namespace NeuralCore.Tests.Scoring;

public class ConfusionMatrixTests
{
    [Fact]
    public void Counts_and_per_class_scores_on_a_known_case()
    {
        // true: 0 0 0 1 1 2 2 2 2; predicted: 0 0 1 1 2 2 2 2 0
        int[] truth = [0, 0, 0, 1, 1, 2, 2, 2, 2];
        int[] predicted = [0, 0, 1, 1, 2, 2, 2, 2, 0];
        var matrix = new ConfusionMatrix(truth, predicted, 3);
        Assert.Equal([[2L, 1, 0], [0, 1, 1], [1, 0, 3]], matrix.ToArray());
        Assert.Equal(6.0 / 9, matrix.Accuracy, 12);
        Assert.Equal(2.0 / 3, matrix.Precision(0), 12); // column 0: 2 of 3
        Assert.Equal(2.0 / 3, matrix.Recall(0), 12);    // row 0: 2 of 3
        Assert.Equal(0.5, matrix.Precision(1), 12);
        Assert.Equal(0.5, matrix.Recall(1), 12);
        Assert.Equal(0.75, matrix.Precision(2), 12);
        Assert.Equal(0.75, matrix.Recall(2), 12);
        Assert.Equal(0.75, matrix.F1(2), 12);
        Assert.Equal(4, matrix.Support(2));
        Assert.Equal((0, 1, 1L), matrix.MostConfused(1)[0]);
        Assert.Equal(3, matrix.MostConfused(10).Count);
    }

    [Fact]
    public void Absent_classes_score_zero_not_nan()
    {
        var matrix = new ConfusionMatrix([0, 0], [0, 0], 3);
        Assert.Equal(0, matrix.Precision(2));
        Assert.Equal(0, matrix.Recall(2));
        Assert.Equal(0, matrix.F1(2));
    }

    [Fact]
    public void Bad_input_is_named()
    {
        Assert.Equal("predictions", Assert.Throws<ArgumentException>(() => new ConfusionMatrix([0, 1], [0], 2)).ParamName);
        Assert.Contains("labels[1] = 5", Assert.Throws<ArgumentException>(() => new ConfusionMatrix([0, 5], [0, 0], 3)).Message, StringComparison.Ordinal);
    }
}
