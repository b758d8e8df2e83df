using NeuralCore.Training;

namespace NeuralCore.Tests.Training;

public sealed class ModelCheckpointFormatTests
{
    private static readonly string[] Specs = ["g", ".0g", ".1g", ".2g", ".4g", ".17g", "%", ".0%", ".2%"];

    // Each value, then what CPython's format(value, spec) gives for each of Specs, pasted from this script's output
    // (CPython 3.11.7):
    // SPECS = ["g", ".0g", ".1g", ".2g", ".4g", ".17g", "%", ".0%", ".2%"]
    // VALUES = [0.0, -0.0, 1e-05, 0.0001234, 123456789.0, 0.5, 1.0, 99999.5, 1e16, 0.125, 2.5, 0.375, -1.5, 0.0001,
    //           9.9999995, 999999.5, 123456.0, 1234567.0, -0.0004321, 0.9876, 0.12345, 5e-324, 1e22]
    // for v in VALUES:
    //     print(f"({v!r}, [{', '.join(chr(34) + format(v, s) + chr(34) for s in SPECS)}]),")
    private static readonly (double Value, string[] Expected)[] Python =
    [
        (0.0, ["0", "0", "0", "0", "0", "0", "0.000000%", "0%", "0.00%"]),
        (-0.0, ["-0", "-0", "-0", "-0", "-0", "-0", "-0.000000%", "-0%", "-0.00%"]),
        (1e-05, ["1e-05", "1e-05", "1e-05", "1e-05", "1e-05", "1.0000000000000001e-05", "0.001000%", "0%", "0.00%"]),
        (0.0001234, ["0.0001234", "0.0001", "0.0001", "0.00012", "0.0001234", "0.00012339999999999999", "0.012340%", "0%", "0.01%"]),
        (123456789.0, ["1.23457e+08", "1e+08", "1e+08", "1.2e+08", "1.235e+08", "123456789", "12345678900.000000%", "12345678900%", "12345678900.00%"]),
        (0.5, ["0.5", "0.5", "0.5", "0.5", "0.5", "0.5", "50.000000%", "50%", "50.00%"]),
        (1.0, ["1", "1", "1", "1", "1", "1", "100.000000%", "100%", "100.00%"]),
        (99999.5, ["99999.5", "1e+05", "1e+05", "1e+05", "1e+05", "99999.5", "9999950.000000%", "9999950%", "9999950.00%"]),
        (1e+16, ["1e+16", "1e+16", "1e+16", "1e+16", "1e+16", "10000000000000000", "1000000000000000000.000000%", "1000000000000000000%", "1000000000000000000.00%"]),
        (0.125, ["0.125", "0.1", "0.1", "0.12", "0.125", "0.125", "12.500000%", "12%", "12.50%"]),
        (2.5, ["2.5", "2", "2", "2.5", "2.5", "2.5", "250.000000%", "250%", "250.00%"]),
        (0.375, ["0.375", "0.4", "0.4", "0.38", "0.375", "0.375", "37.500000%", "38%", "37.50%"]),
        (-1.5, ["-1.5", "-2", "-2", "-1.5", "-1.5", "-1.5", "-150.000000%", "-150%", "-150.00%"]),
        (0.0001, ["0.0001", "0.0001", "0.0001", "0.0001", "0.0001", "0.0001", "0.010000%", "0%", "0.01%"]),
        (9.9999995, ["10", "1e+01", "1e+01", "10", "10", "9.9999994999999995", "999.999950%", "1000%", "1000.00%"]),
        (999999.5, ["1e+06", "1e+06", "1e+06", "1e+06", "1e+06", "999999.5", "99999950.000000%", "99999950%", "99999950.00%"]),
        (123456.0, ["123456", "1e+05", "1e+05", "1.2e+05", "1.235e+05", "123456", "12345600.000000%", "12345600%", "12345600.00%"]),
        (1234567.0, ["1.23457e+06", "1e+06", "1e+06", "1.2e+06", "1.235e+06", "1234567", "123456700.000000%", "123456700%", "123456700.00%"]),
        (-0.0004321, ["-0.0004321", "-0.0004", "-0.0004", "-0.00043", "-0.0004321", "-0.00043209999999999999", "-0.043210%", "-0%", "-0.04%"]),
        (0.9876, ["0.9876", "1", "1", "0.99", "0.9876", "0.98760000000000003", "98.760000%", "99%", "98.76%"]),
        (0.12345, ["0.12345", "0.1", "0.1", "0.12", "0.1235", "0.12345", "12.345000%", "12%", "12.35%"]),
        (5e-324, ["4.94066e-324", "5e-324", "5e-324", "4.9e-324", "4.941e-324", "4.9406564584124654e-324", "0.000000%", "0%", "0.00%"]),
        (1e+22, ["1e+22", "1e+22", "1e+22", "1e+22", "1e+22", "1e+22", "999999999999999983222784.000000%", "999999999999999983222784%", "999999999999999983222784.00%"]),
    ];

    [Fact]
    public void Checkpoint_formats_g_and_percent_write_what_pythons_format_writes()
    {
        var wrong = new List<string>();
        foreach (var (value, expected) in Python)
        {
            for (int i = 0; i < Specs.Length; i++)
            {
                string? actual = ModelCheckpoint.FormatValue(value, Specs[i]);
                if (actual != expected[i])
                {
                    wrong.Add($"format({value:R}, '{Specs[i]}'): Python {expected[i]}, got {actual}");
                }
            }
        }

        Assert.Empty(wrong);
    }

    // format(value, spec) in CPython 3.11.7 for each of ExponentSpecs, pasted from this script's output:
    // SPECS = ["e", ".0e", ".2e", ".4e", "03.1e"]
    // for v in [2.675, 0.00015, 1.2345678901234568e+17, 5e-324, -0.0, 0.0, 1e22, 1e100, 9.9999995, -1.5, 0.5, 123456.0]:
    //     print('(%r, [%s]),' % (v, ', '.join('"' + format(v, s) + '"' for s in SPECS)))
    private static readonly string[] ExponentSpecs = ["e", ".0e", ".2e", ".4e", "03.1e"];

    private static readonly (double Value, string[] Expected)[] PythonExponent =
    [
        (2.675, ["2.675000e+00", "3e+00", "2.67e+00", "2.6750e+00", "2.7e+00"]),
        (0.00015, ["1.500000e-04", "1e-04", "1.50e-04", "1.5000e-04", "1.5e-04"]),
        (1.2345678901234568e+17, ["1.234568e+17", "1e+17", "1.23e+17", "1.2346e+17", "1.2e+17"]),
        (5e-324, ["4.940656e-324", "5e-324", "4.94e-324", "4.9407e-324", "4.9e-324"]),
        (-0.0, ["-0.000000e+00", "-0e+00", "-0.00e+00", "-0.0000e+00", "-0.0e+00"]),
        (0.0, ["0.000000e+00", "0e+00", "0.00e+00", "0.0000e+00", "0.0e+00"]),
        (1e+22, ["1.000000e+22", "1e+22", "1.00e+22", "1.0000e+22", "1.0e+22"]),
        (1e+100, ["1.000000e+100", "1e+100", "1.00e+100", "1.0000e+100", "1.0e+100"]),
        (9.9999995, ["9.999999e+00", "1e+01", "1.00e+01", "1.0000e+01", "1.0e+01"]),
        (-1.5, ["-1.500000e+00", "-2e+00", "-1.50e+00", "-1.5000e+00", "-1.5e+00"]),
        (0.5, ["5.000000e-01", "5e-01", "5.00e-01", "5.0000e-01", "5.0e-01"]),
        (123456.0, ["1.234560e+05", "1e+05", "1.23e+05", "1.2346e+05", "1.2e+05"]),
    ];

    [Fact]
    public void Checkpoint_format_e_writes_what_pythons_format_writes()
    {
        // The custom format 0.00e+00 rounded the value's 15-digit decimal form: 2.675 (2.67499…) in .2e was 2.68e+00,
        // Python's 2.67e+00 (and 1.2345678901234568e+17 in e, 1.234570e+17).
        var wrong = new List<string>();
        foreach (var (value, expected) in PythonExponent)
        {
            for (int i = 0; i < ExponentSpecs.Length; i++)
            {
                string? actual = ModelCheckpoint.FormatValue(value, ExponentSpecs[i]);
                if (actual != expected[i])
                {
                    wrong.Add($"format({value:R}, '{ExponentSpecs[i]}'): Python {expected[i]}, got {actual}");
                }
            }
        }

        Assert.Empty(wrong);
    }

    // str(value) in CPython 3.11.7, which Keras's filepath.format writes for a placeholder without a format:
    // for v in [3.0, 1e-05, 1e16, 1e15, 0.1, 1.2345678901234568e+17, -0.0, 0.0, 0.0001, 5e-324, 123.45,
    //           -2.2250738585072014e-308, 0.30000000000000004, 1.5e16, 100.0, 0.00012345]:
    //     print('(%r, "%s"),' % (v, str(v)))
    [Theory]
    [InlineData(3.0, "3.0")]
    [InlineData(1e-05, "1e-05")]
    [InlineData(1e+16, "1e+16")]
    [InlineData(1000000000000000.0, "1000000000000000.0")]
    [InlineData(0.1, "0.1")]
    [InlineData(1.2345678901234568e+17, "1.2345678901234568e+17")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(0.0, "0.0")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(5e-324, "5e-324")]
    [InlineData(123.45, "123.45")]
    [InlineData(-2.2250738585072014e-308, "-2.2250738585072014e-308")]
    [InlineData(0.30000000000000004, "0.30000000000000004")]
    [InlineData(1.5e+16, "1.5e+16")]
    [InlineData(100.0, "100.0")]
    [InlineData(0.00012345, "0.00012345")]
    public void Checkpoint_paths_write_a_value_without_a_format_as_pythons_str(double value, string expected)
    {
        // .NET's shortest form wrote 3 for Python's 3.0 and 1E-05 for 1e-05, so Keras's path "m-{loss}.keras" named
        // other files here. The epoch stays an integer ({epoch} is 7, as Keras's epoch + 1).
        var metrics = new EpochMetrics(7, value, double.NaN, null, null, 0) { Values = new Dictionary<string, double> { ["loss"] = value } };
        Assert.Equal($"m-7-{expected}.ncm", ModelCheckpoint.Format("m-{epoch}-{loss}.ncm", metrics));
    }

    [Fact]
    public void Checkpoint_formats_g_and_percent_write_non_finite_values_as_f_and_e_do()
    {
        // Python writes nan, inf and -inf (nan%, inf%); the path's other formats write .NET's names, so these do too.
        foreach (string spec in new[] { "g", ".4g", ".0g" })
        {
            Assert.Equal("NaN", ModelCheckpoint.FormatValue(double.NaN, spec));
            Assert.Equal("Infinity", ModelCheckpoint.FormatValue(double.PositiveInfinity, spec));
            Assert.Equal("-Infinity", ModelCheckpoint.FormatValue(double.NegativeInfinity, spec));
        }

        Assert.Equal("NaN", ModelCheckpoint.FormatValue(double.NaN, ".2f"));
        Assert.Equal("NaN%", ModelCheckpoint.FormatValue(double.NaN, ".2%"));
        Assert.Equal("-Infinity%", ModelCheckpoint.FormatValue(double.NegativeInfinity, "%"));

        // Times 100 in double, as CPython does: the largest double overflows to inf% there.
        Assert.Equal("1.79769e+308", ModelCheckpoint.FormatValue(double.MaxValue, "g"));
        Assert.Equal("Infinity%", ModelCheckpoint.FormatValue(double.MaxValue, ".2%"));
    }

    [Fact]
    public void Checkpoint_formats_g_and_percent_take_a_width_and_ignore_it_as_f_and_e_do()
    {
        // Python pads (format(0.5, '08.3g') is 000000.5); the path's f and e never padded, and g and % follow them.
        Assert.Equal(ModelCheckpoint.FormatValue(0.5, ".3f")!.Length, ModelCheckpoint.FormatValue(0.5, "08.3f")!.Length);
        Assert.Equal("0.5", ModelCheckpoint.FormatValue(0.5, "08.3g"));
        Assert.Equal("50.00%", ModelCheckpoint.FormatValue(0.5, "8.2%"));
        Assert.Equal("50.0%", ModelCheckpoint.FormatValue(0.5, "05.1%"));
    }

    [Fact]
    public void Checkpoint_formats_of_zeros_a_point_and_percent_are_net_unless_they_start_with_the_point()
    {
        // Both grammars read these: .NET's digit placeholders as before, Python's precision after a leading point.
        Assert.Equal("97.5%", ModelCheckpoint.FormatValue(0.975, "0.0%"));
        Assert.Equal("98%", ModelCheckpoint.FormatValue(0.975, "0%"));
        Assert.Equal("98%", ModelCheckpoint.FormatValue(0.975, ".0%"));
        Assert.Equal("97.50%", ModelCheckpoint.FormatValue(0.975, ".2%"));
    }

    [Fact]
    public void Checkpoint_paths_fill_g_and_percent_placeholders_and_refuse_a_bad_spec()
    {
        var metrics = new EpochMetrics(7, 0.000012345, 0.98765, 0.5, 0.9, 0);
        Assert.Equal(
            "weights.07-1.234e-05-98.77%-7.ncm",
            ModelCheckpoint.Format("weights.{epoch:02d}-{loss:.4g}-{accuracy:.2%}-{epoch:g}.ncm", metrics));
        _ = new ModelCheckpoint("m-{val_loss:g}-{val_accuracy:%}.ncm");

        var bad = Assert.Throws<ArgumentException>(() => new ModelCheckpoint("m-{val_loss:.4q}.ncm"));
        Assert.Contains("{val_loss:.4q}", bad.Message, StringComparison.Ordinal);
        Assert.Contains("Python's d, f, e, g or %", bad.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new ModelCheckpoint("m-{val_loss:.4G}.ncm"));
        Assert.Throws<ArgumentException>(() => new ModelCheckpoint("m-{val_loss:.2%%}.ncm"));
    }

    [Theory]
    [InlineData("{val_loss:.99999999999f}")]
    [InlineData("{val_loss:.1000e}")]
    [InlineData("{val_loss:.1000g}")]
    [InlineData("{epoch:01000d}")]
    public void Checkpoint_formats_with_widths_or_precisions_over_three_digits_are_refused_as_formats(string placeholder)
    {
        // .99999999999f threw an OverflowException from int.Parse; .999999999f was accepted and formatted a billion zeros.
        var bad = Assert.Throws<ArgumentException>(() => new ModelCheckpoint($"m-{placeholder}.ncm"));
        Assert.Contains(placeholder, bad.Message, StringComparison.Ordinal);
    }
}
