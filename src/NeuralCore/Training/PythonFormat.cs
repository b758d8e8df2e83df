using System.Globalization;

namespace NeuralCore.Training;

/// <summary>
/// Numbers as Python writes them, for the text Keras's callbacks produce: <see cref="ModelCheckpoint"/>'s file names and
/// <see cref="ProgressLogger"/>'s values.
/// </summary>
internal static class PythonFormat
{
    /// <summary>
    /// Python's <c>str(value)</c> of a float, which Keras's path writes for a value without a format: the shortest digits
    /// that read back as the value, in fixed notation with at least one decimal when the decimal exponent X is in
    /// [-4, 16) (<c>3.0</c>, <c>0.0001</c>, <c>1000000000000000.0</c>), otherwise in scientific notation with the
    /// exponent's sign and at least two digits (<c>1e-05</c>, <c>1.5e+16</c>). NaN and infinities as the other formats
    /// write them.
    /// </summary>
    internal static string Repr(double value)
    {
        if (!double.IsFinite(value))
        {
            return value.ToString(CultureInfo.InvariantCulture);
        }

        // .NET's R is the shortest round-trip form too, but writes 3 for 3.0 and 1E-05 for 1e-05; its digits and
        // exponent are read back from it: "-1.2345678901234568E+17", "0.0001", "123.45".
        string shortest = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        int e = shortest.IndexOf('E', StringComparison.Ordinal);
        string mantissa = e < 0 ? shortest : shortest[..e];
        int exponent = e < 0 ? 0 : int.Parse(shortest.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        int point = mantissa.IndexOf('.', StringComparison.Ordinal);
        string digits = mantissa.Replace(".", string.Empty, StringComparison.Ordinal);
        int leading = digits.Length - digits.TrimStart('0').Length;
        digits = digits.Trim('0');
        string sign = double.IsNegative(value) ? "-" : string.Empty;
        if (digits.Length == 0)
        {
            return sign + "0.0";
        }

        // The decimal exponent of the first significant digit: value = d.ddd × 10^x.
        int x = (point < 0 ? mantissa.Length : point) - 1 - leading + exponent;
        if (x is < -4 or >= 16)
        {
            return sign + digits[0] + (digits.Length > 1 ? "." + digits[1..] : string.Empty)
                + (x < 0 ? "e-" : "e+") + Math.Abs(x).ToString("00", CultureInfo.InvariantCulture);
        }

        if (x < 0)
        {
            return sign + "0." + new string('0', -x - 1) + digits;
        }

        string whole = digits.Length > x + 1 ? digits[..(x + 1)] : digits.PadRight(x + 1, '0');
        string fraction = digits.Length > x + 1 ? digits[(x + 1)..] : "0";
        return sign + whole + "." + fraction;
    }

    /// <summary>
    /// Python's <c>format(value, ".{precision}e")</c>: one digit, a point and <paramref name="precision"/> decimals (no
    /// point for 0), rounded from the exact binary value with ties to even, then the exponent with its sign and at least
    /// two digits (<c>2.67e+00</c>, <c>1e-05</c>, <c>1.00e+100</c>). NaN and infinities as the other formats write them.
    /// </summary>
    internal static string Exponent(double value, int precision)
    {
        if (!double.IsFinite(value))
        {
            return value.ToString(CultureInfo.InvariantCulture);
        }

        // .NET's E rounds the exact binary value, ties to even, as CPython does ("-d.ddE+ddd"). The custom format
        // 0.00e+00 rounded the value's 15-digit decimal form instead: 2.675 (2.67499…) in .2e gave 2.68e+00, Python's
        // 2.67e+00.
        string scientific = value.ToString("E" + precision.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        int e = scientific.IndexOf('E', StringComparison.Ordinal);
        int exponent = int.Parse(scientific.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        return scientific[..e] + (exponent < 0 ? "e-" : "e+") + Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Python's <c>format(value, ".{precision}g")</c>: rounded to <paramref name="precision"/> significant digits (0
    /// reads as 1); written in scientific notation if the rounded value's decimal exponent X is below -4 or at least the
    /// precision, fixed otherwise; trailing zeros of the fraction and a bare point removed; an exponent with its sign and
    /// at least two digits (1e-05). NaN and infinities as the other formats write them (.NET's NaN, Infinity).
    /// </summary>
    internal static string General(double value, int precision)
    {
        if (!double.IsFinite(value))
        {
            return value.ToString(CultureInfo.InvariantCulture);
        }

        int digits = Math.Max(1, precision);
        // .NET's E rounds the exact binary value to the digits asked, ties to even, as CPython does: "d.dddE+ddd".
        string scientific = Math.Abs(value).ToString("E" + (digits - 1).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        int e = scientific.IndexOf('E', StringComparison.Ordinal);
        string significand = scientific[..e].Replace(".", string.Empty, StringComparison.Ordinal);
        int exponent = int.Parse(scientific.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        string sign = double.IsNegative(value) ? "-" : string.Empty;
        if (exponent < -4 || exponent >= digits)
        {
            string fraction = significand[1..].TrimEnd('0');
            return sign + significand[0] + (fraction.Length > 0 ? "." + fraction : string.Empty)
                + (exponent < 0 ? "e-" : "e+") + Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
        }

        // Fixed: -4 <= X < digits, so the point falls within the significand once X < 0 has its leading zeros.
        string all = exponent < 0 ? new string('0', -exponent) + significand : significand;
        int point = Math.Max(exponent, 0) + 1;
        string decimals = all[point..].TrimEnd('0');
        return sign + all[..point] + (decimals.Length > 0 ? "." + decimals : string.Empty);
    }

    /// <summary>
    /// Python's <c>format(value, ".{precision}%")</c>: the value times 100 (in double, as CPython multiplies) in fixed
    /// notation with <paramref name="precision"/> decimals, as <c>f</c> writes it, then "%" (NaN%, Infinity%).
    /// </summary>
    internal static string Percent(double value, int precision) =>
        (value * 100).ToString("F" + precision.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) + "%";

    // Width and precision of at most three digits: longer ones overflowed int.Parse (an OverflowException from the
    // constructor) or asked for a string of a billion zeros, and no file name holds more than 255 bytes anyway.
}
