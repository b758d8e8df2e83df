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

        // Largest count first, ties by true then predicted class, cut to the count asked (the order was untested).
        var skewed = new ConfusionMatrix([0, 0, 0, 1, 1, 2, 2, 2, 2, 0], [1, 1, 2, 0, 2, 1, 1, 1, 0, 0], 3);
        Assert.Equal([(2, 1, 3L), (0, 1, 2L), (0, 2, 1L), (1, 0, 1L), (1, 2, 1L), (2, 0, 1L)], skewed.MostConfused(10));
        Assert.Equal([(2, 1, 3L), (0, 1, 2L)], skewed.MostConfused(2));
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

        // classes² in 32 bits wrapped: 65,536 classes gave an empty array (IndexOutOfRange on the first count),
        // int.MaxValue one of length 1, 46,341 an OverflowException.
        foreach (int classes in new[] { 65_536, 46_341, int.MaxValue })
        {
            var size = Assert.Throws<ArgumentOutOfRangeException>(() => new ConfusionMatrix([0], [0], classes));
            Assert.Equal("classes", size.ParamName);
            Assert.Contains("more than one array holds", size.Message, StringComparison.Ordinal);
        }

        // A class argument out of range names itself (Precision(-1) blamed 'actual' with a made-up pair).
        var matrix = new ConfusionMatrix([0, 1], [0, 1], 2);
        foreach ((string name, Action call) in new (string, Action)[]
        {
            ("c", () => matrix.Precision(-1)), ("c", () => matrix.Recall(2)), ("c", () => matrix.F1(5)), ("c", () => matrix.Support(-1)),
            ("predicted", () => _ = matrix[1, -1]), ("actual", () => _ = matrix[2, 0]), ("count", () => matrix.MostConfused(-1)),
        })
        {
            Assert.Equal(name, Assert.Throws<ArgumentOutOfRangeException>(call).ParamName);
        }
    }
}
