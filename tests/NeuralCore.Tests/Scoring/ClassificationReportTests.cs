using NeuralCore.Scoring;

namespace NeuralCore.Tests.Scoring;

public class ClassificationReportTests
{
    // true: 0 0 0 1 1 2 2 2 2; predicted: 0 0 1 1 2 2 2 2 0 (as in ConfusionMatrixTests).
    private static readonly ConfusionMatrix Matrix = new([0, 0, 0, 1, 1, 2, 2, 2, 2], [0, 0, 1, 1, 2, 2, 2, 2, 0], 3);

    [Fact]
    public void Scores_and_averages_by_hand()
    {
        var report = new ClassificationReport(Matrix);
        Assert.Equal(new ClassScores("0", 2.0 / 3, 2.0 / 3, 2.0 / 3, 3), report.Classes[0]);
        Assert.Equal(new ClassScores("1", 0.5, 0.5, 0.5, 2), report.Classes[1]);
        Assert.Equal(new ClassScores("2", 0.75, 0.75, 0.75, 4), report.Classes[2]);
        double macro = ((2.0 / 3) + 0.5 + 0.75) / 3;
        Assert.Equal(macro, report.MacroAverage.Precision, 15);
        Assert.Equal(macro, report.MacroAverage.F1, 15);
        double weighted = ((2.0 / 3 * 3) + (0.5 * 2) + (0.75 * 4)) / 9;
        Assert.Equal(weighted, report.WeightedAverage.Recall, 15);
        Assert.Equal(9, report.WeightedAverage.Support);
        Assert.Equal(6.0 / 9, report.Accuracy, 15);
    }

    [Fact]
    public void Text_is_laid_out_as_scikit_learn_prints_it()
    {
        // classification_report([0,0,0,1,1,2,2,2,2], [0,0,1,1,2,2,2,2,0], zero_division=0) from scikit-learn 1.2.1.
        const string Expected =
            "              precision    recall  f1-score   support\n\n" +
            "           0       0.67      0.67      0.67         3\n" +
            "           1       0.50      0.50      0.50         2\n" +
            "           2       0.75      0.75      0.75         4\n\n" +
            "    accuracy                           0.67         9\n" +
            "   macro avg       0.64      0.64      0.64         9\n" +
            "weighted avg       0.67      0.67      0.67         9\n";
        Assert.Equal(Expected, new ClassificationReport(Matrix).ToString());
    }

    [Fact]
    public void Names_and_absent_classes()
    {
        // Class 2 never occurs and is never predicted: its scores are 0 (scikit-learn's zero_division=0).
        var matrix = new ConfusionMatrix([0, 1, 1], [0, 1, 0], 3);
        var report = new ClassificationReport(matrix, ["cat", "dog", "bird"]);
        Assert.Equal(new ClassScores("bird", 0, 0, 0, 0), report.Classes[2]);
        Assert.Contains("        bird       0.00      0.00      0.00         0\n", report.ToString(), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new ClassificationReport(matrix, ["cat"]));
        Assert.Throws<ArgumentOutOfRangeException>(() => report.ToString(16));
    }
}
