using System.Globalization;
using System.Text;

namespace NeuralCore.Scoring;

/// <summary>Precision, recall, F1 and support of one class, or an average of them (<see cref="ClassificationReport"/>).</summary>
/// <param name="Name">The class's name, or the average's (<c>macro avg</c>, <c>weighted avg</c>).</param>
/// <param name="Precision"><c>TP / (TP + FP)</c>; 0 when nothing was predicted as the class.</param>
/// <param name="Recall"><c>TP / (TP + FN)</c>; 0 when the class has no sample.</param>
/// <param name="F1"><c>2PR / (P + R)</c>; 0 when both are 0.</param>
/// <param name="Support">The number of samples of the class (all samples, for an average).</param>
public sealed record ClassScores(string Name, double Precision, double Recall, double F1, long Support);

/// <summary>
/// Per-class precision, recall, F1 and support with their macro and weighted averages, laid out as scikit-learn's
/// <c>classification_report</c> (with <c>zero_division=0</c>): the macro average is the plain mean over classes, the
/// weighted average weighs each class by its support. Every class of the matrix is listed, as scikit-learn does when given
/// <c>labels=range(classes)</c>; scikit-learn's default lists only the classes that occur in the truth or the predictions,
/// so with a class that never occurs its macro average differs (here the absent class counts as 0). The line below the
/// classes is always <c>accuracy</c>; scikit-learn given <c>labels</c> that name a class occurring in neither the truth
/// nor the predictions prints a <c>micro avg</c> line there instead, whose precision, recall and F1 all equal this
/// accuracy.
/// </summary>
public sealed class ClassificationReport
{
    /// <summary>Builds the report from a confusion matrix.</summary>
    /// <param name="matrix">The counts, rows true classes.</param>
    /// <param name="classNames">A name per class, or null for the class indices.</param>
    /// <exception cref="ArgumentNullException"><paramref name="matrix"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="classNames"/> does not hold one name per class, or a name is null.</exception>
    public ClassificationReport(ConfusionMatrix matrix, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        if (classNames is not null && (classNames.Count != matrix.Classes || classNames.Any(n => n is null)))
        {
            throw new ArgumentException($"Expected {matrix.Classes} class names, none null; got {classNames.Count}.", nameof(classNames));
        }

        var classes = new ClassScores[matrix.Classes];
        for (int c = 0; c < classes.Length; c++)
        {
            string name = classNames?[c] ?? c.ToString(CultureInfo.InvariantCulture);
            classes[c] = new ClassScores(name, matrix.Precision(c), matrix.Recall(c), matrix.F1(c), matrix.Support(c));
        }

        Classes = classes;
        Total = matrix.Total;
        Accuracy = matrix.Accuracy;
        MacroAverage = new ClassScores("macro avg", classes.Average(c => c.Precision), classes.Average(c => c.Recall), classes.Average(c => c.F1), Total);
        WeightedAverage = Total == 0
            ? new ClassScores("weighted avg", 0, 0, 0, 0)
            : new ClassScores("weighted avg",
                classes.Sum(c => c.Precision * c.Support) / Total,
                classes.Sum(c => c.Recall * c.Support) / Total,
                classes.Sum(c => c.F1 * c.Support) / Total,
                Total);
    }

    /// <summary>The scores of each class, by class index.</summary>
    public IReadOnlyList<ClassScores> Classes { get; }

    /// <summary>The number of samples.</summary>
    public long Total { get; }

    /// <summary>The fraction of samples predicted right.</summary>
    public double Accuracy { get; }

    /// <summary>The unweighted mean of the class scores.</summary>
    public ClassScores MacroAverage { get; }

    /// <summary>The mean of the class scores weighted by support.</summary>
    public ClassScores WeightedAverage { get; }

    /// <summary>The report as scikit-learn prints it, with <paramref name="digits"/> decimals.</summary>
    /// <param name="digits">Decimals of the scores, from 0 to 15.</param>
    /// <returns>The text, one line per class, then accuracy and the two averages.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="digits"/> is out of range.</exception>
    public string ToString(int digits)
    {
        Check.InRange(digits, 0, 15, nameof(digits), "a number of digits");
        CultureInfo inv = CultureInfo.InvariantCulture;
        int width = Math.Max(Classes.Max(c => c.Name.Length), Math.Max("weighted avg".Length, digits));
        string format = "F" + digits.ToString(inv);
        var text = new StringBuilder();
        text.Append(new string(' ', width + 1));
        foreach (string header in new[] { "precision", "recall", "f1-score", "support" })
        {
            text.Append(' ').Append(header.PadLeft(9));
        }

        text.Append("\n\n");
        foreach (ClassScores c in Classes)
        {
            Row(c);
        }

        text.Append('\n');
        text.Append("accuracy".PadLeft(width)).Append(' ')
            .Append(new string(' ', 20))
            .Append(' ').Append(Accuracy.ToString(format, inv).PadLeft(9))
            .Append(' ').Append(Total.ToString(inv).PadLeft(9)).Append('\n');
        Row(MacroAverage);
        Row(WeightedAverage);
        return text.ToString();

        void Row(ClassScores c)
        {
            text.Append(c.Name.PadLeft(width)).Append(' ');
            foreach (double value in new[] { c.Precision, c.Recall, c.F1 })
            {
                text.Append(' ').Append(value.ToString(format, inv).PadLeft(9));
            }

            text.Append(' ').Append(c.Support.ToString(inv).PadLeft(9)).Append('\n');
        }
    }

    /// <summary>The report as scikit-learn prints it by default, with two decimals.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => ToString(2);
}
