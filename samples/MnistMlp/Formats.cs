using System.Globalization;

namespace MnistMlp;

/// <summary>Number formatting for reports: invariant, with percentages written "97.02%" rather than "97.02 %".</summary>
internal static class Formats
{
    public static readonly CultureInfo Culture = Create();

    private static CultureInfo Create()
    {
        var culture = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        culture.NumberFormat.PercentPositivePattern = 1;
        culture.NumberFormat.PercentNegativePattern = 1;
        return CultureInfo.ReadOnly(culture);
    }
}
