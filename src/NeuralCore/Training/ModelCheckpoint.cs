using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using NeuralCore.Configuration;
using NeuralCore.IO;
using NeuralCore.Serialization;

namespace NeuralCore.Training;

/// <summary>
/// Saves the model (<see cref="ModelFile.Save"/>, atomically) after epochs or every N steps, as Keras's <c>ModelCheckpoint</c>: after
/// every epoch (or every <see cref="SaveFrequency"/> steps), or with <see cref="SaveBestOnly"/> only when the monitored value beats every earlier one
/// and <see cref="InitialValueThreshold"/> (without a threshold the first epoch saves whatever its value, an infinity too,
/// as in Keras; a NaN never does, where Keras saves a NaN first value and then nothing more). As in Keras, the best value is kept from one <c>Fit</c> to
/// the next that the same callback is given to (a training resumed with <see cref="FitOptions.InitialEpoch"/> replaces
/// the best file only with a better model); a new callback starts afresh. The path may name values of the epoch in braces, with a
/// .NET format or Keras's (Python's) <c>d</c>, <c>f</c>, <c>e</c>, <c>g</c> and <c>%</c> specifications, the last three
/// with Python's rules (<c>.2e</c>: rounded from the exact value, ties to even, 2.67e+00 for 2.675; <c>.4g</c>: 4 significant digits, trailing zeros dropped, 1e-05 below 1e-4; <c>.2%</c>: times
/// 100, 2 decimals, then %): <c>model-{epoch:000}-{val_accuracy:0.0000}.ncm</c>,
/// <c>weights.{epoch:02d}-{val_loss:.2f}.ncm</c> and <c>weights.{epoch:02d}-{val_loss:.4g}-{val_accuracy:.2%}.ncm</c>
/// all work; without any, each save replaces the last. A value without a format is written as Python's <c>str</c>
/// writes it (<c>3.0</c>, <c>1e-05</c>), as in Keras. NaN and infinities are written NaN and Infinity, not Python's
/// nan and inf. A placeholder for a value the training does not report is an error before the first epoch, not a file
/// named "NaN".
/// <para>
/// With <see cref="SaveFrequency"/> N above 0 (Keras's <c>save_freq</c> as a number of batches), the callback saves after
/// every N training steps, counted on from one epoch and one <c>Fit</c> to the next, and not at epoch ends; the values it
/// monitors and the path names are the epoch's so far (<see cref="TrainingContext.EpochValuesSoFar"/>, Keras's batch
/// logs), and the path may name <c>{batch}</c>, the step within the epoch from 1. Those hold no <c>val_</c> values:
/// a path or a best-only monitor that names one is an error before the first epoch (Keras warns at every save and
/// saves anyway). Fit's steps keep the first layer's weights in the order its products read them between saves.
/// </para>
/// <para>
/// Unlike Keras's: there is no <c>save_weights_only</c>: the file, in NeuralCore's own format whatever the path's extension, always
/// holds the architecture, and <see cref="IncludeOptimizer"/> false leaves out the optimizer's state; with <see cref="SaveBestOnly"/> and <see cref="FitOptions.ValidationFrequency"/>
/// above 1, an epoch that does not validate is not saved (Keras saves it, as an epoch whose monitored value is missing,
/// which replaces the best model with a later one).
/// </para>
/// </summary>
public sealed partial class ModelCheckpoint : Callback
{
    private readonly string _template;
    private readonly string[] _placeholders;
    private double? _best;

    /// <summary>Creates the callback.</summary>
    /// <param name="path">The file to write, with optional <c>{epoch}</c> and <c>{metric:format}</c> placeholders; its folder is created if needed.</param>
    /// <param name="monitor">The value that decides the best epoch: <c>val_loss</c> (default), <c>loss</c>, or a metric with or without <c>val_</c>.</param>
    /// <param name="saveBestOnly">Whether to save only when the monitored value improves.</param>
    /// <param name="mode">Whether the value improves going down or up; <see cref="MonitorMode.Auto"/> decides from the name.</param>
    /// <param name="includeOptimizer">Whether the file also holds the optimizer's state, so that training can resume from it.</param>
    /// <param name="initialValueThreshold">
    /// With <see cref="SaveBestOnly"/>, the value to beat before the first save (Keras's <c>initial_value_threshold</c>),
    /// for example the best of an earlier run that this one resumes; null: the first epoch always saves.
    /// </param>
    /// <param name="saveFrequency">0 (default) to save at epoch ends (Keras's <c>"epoch"</c>); N above 0 to save after every N training steps instead.</param>
    /// <exception cref="ArgumentException">The path is empty, or names an unknown value or a bad format; the monitor is unknown.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mode"/> is undefined, or <paramref name="saveFrequency"/> is negative.</exception>
    public ModelCheckpoint(string path, string monitor = "val_loss", bool saveBestOnly = false, MonitorMode mode = MonitorMode.Auto,
        bool includeOptimizer = true, double? initialValueThreshold = null, int saveFrequency = 0)
    {
        Check.NonNegative(saveFrequency, nameof(saveFrequency), "save frequency");
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Monitoring.CheckName(monitor, nameof(monitor));
        _ = Monitoring.Maximizes(monitor, mode);
        var names = new List<string>();
        foreach (Match placeholder in Placeholder().Matches(path))
        {
            if (!placeholder.Groups[1].Success)
            {
                // A doubled brace: a literal one, as in Python's format strings.
                continue;
            }

            string name = placeholder.Groups[1].Value;
            if (name != "epoch" && name != "batch" && !EpochMetrics.IsKnown(name))
            {
                throw new ArgumentException(
                    $"The path names '{{{name}}}', which is neither epoch, batch, loss nor a metric ({string.Join(", ", Scoring.MetricSet.Known)}, with or without val_).", nameof(path));
            }

            if (name == "batch" && saveFrequency == 0)
            {
                throw new ArgumentException(
                    "The path names '{batch}', which only a checkpoint that saves every N steps has (saveFrequency above 0); this one saves at epoch ends.", nameof(path));
            }

            string? format = placeholder.Groups[2].Success ? placeholder.Groups[2].Value : null;
            if (format is not null && FormatValue(1.5, format) is null)
            {
                throw new ArgumentException(
                    $"The path's placeholder {placeholder.Value} has a format that is neither a .NET numeric format (such as 0.000) nor Python's d, f, e, g or % (such as 02d, .4f, .2e, .4g or .2%).", nameof(path));
            }

            names.Add(name);
        }

        if (initialValueThreshold is { } threshold)
        {
            Check.Number(threshold, nameof(initialValueThreshold), "a number, or null for no threshold");
        }

        _template = path;
        _placeholders = [.. names.Where(n => n is not "epoch" and not "batch").Distinct()];
        SaveFrequency = saveFrequency;
        Monitor = monitor;
        SaveBestOnly = saveBestOnly;
        Mode = mode;
        IncludeOptimizer = includeOptimizer;
        InitialValueThreshold = initialValueThreshold;
        // Once, not at each Fit: as in Keras, a callback given to a later Fit that resumes the training saves only what
        // beats the best of the earlier ones (reset at each Fit, the resumed Fit's first epoch replaced a better file).
        _best = initialValueThreshold;
    }

    /// <summary>With <see cref="SaveBestOnly"/>, the value to beat before the first save, or null.</summary>
    public double? InitialValueThreshold { get; }

    /// <summary>The monitored value.</summary>
    public string Monitor { get; }

    /// <summary>Whether only improvements are saved.</summary>
    public bool SaveBestOnly { get; }

    /// <summary>Whether the value improves going down or up.</summary>
    public MonitorMode Mode { get; }

    /// <summary>Whether the optimizer's state is saved too.</summary>
    public bool IncludeOptimizer { get; }

    /// <summary>0: saves at epoch ends; N above 0: after every N training steps (Keras's <c>save_freq</c>).</summary>
    public int SaveFrequency { get; }

    // With SaveFrequency: the steps since the last save, counted across epochs and Fit calls, as Keras counts them.
    private int _stepsSinceSave;

    /// <summary>
    /// With <see cref="SaveBestOnly"/>, the epoch (from 1, as <c>Fit</c> numbers epochs) with the best monitored value
    /// this callback has seen, in every <c>Fit</c> it was given to; 0 before one (always 0 without it). With
    /// <see cref="SaveFrequency"/>, the epoch of the best step.
    /// </summary>
    public int BestEpoch { get; private set; }

    /// <summary>With <see cref="SaveBestOnly"/> and <see cref="SaveFrequency"/>, the step within <see cref="BestEpoch"/> (from 1) of the best value; otherwise 0.</summary>
    public int BestBatch { get; private set; }

    /// <summary>The file of the last save, or null before the first.</summary>
    public string? LastSavedPath { get; private set; }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The training will not report the monitored value (with <see cref="SaveBestOnly"/>) or a value the path names.</exception>
    /// <exception cref="IOException">The path names a folder, a folder on it is a file, or its folder takes no new files (a read-only file system).</exception>
    /// <exception cref="UnauthorizedAccessException">Its folder is not writable.</exception>
    /// <exception cref="PathTooLongException">The file name is longer than 255 characters.</exception>
    public override void OnTrainBegin(TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (SaveBestOnly)
        {
            Monitoring.CheckReported(context, Monitor, nameof(ModelCheckpoint));
        }

        if (SaveFrequency > 0 && (SaveBestOnly ? _placeholders.Append(Monitor) : _placeholders).FirstOrDefault(n => n.StartsWith("val_", StringComparison.Ordinal)) is { } validated)
        {
            // Keras warns "Can save best model only with val_loss available" at each save, and saves anyway.
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"ModelCheckpoint saves every {SaveFrequency} steps, where the values are the epoch's so far over its training steps, which hold no validation values, but its {(SaveBestOnly && validated == Monitor ? "monitor" : "path")} names {validated}: monitor or name loss or a training metric, or save at epoch ends (saveFrequency 0)."));
        }

        foreach (string name in _placeholders)
        {
            Monitoring.CheckReported(context, name, nameof(ModelCheckpoint) + "'s path");
            if (context.ValidationFrequency > 1 && name.StartsWith("val_", StringComparison.Ordinal)
                && (!SaveBestOnly || !Monitor.StartsWith("val_", StringComparison.Ordinal)))
            {
                // Keras fails at the first epoch that does not validate (a KeyError formatting the path).
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"ModelCheckpoint's path names {{{name}}}, which only the epochs that validate report (FitOptions.ValidationFrequency is {context.ValidationFrequency}), but it may save after an epoch that does not validate: save only the best of a val_ monitor (saveBestOnly), or leave {name} out of the path."));
            }
        }

        // Checked now rather than after an epoch has trained: a path that is a folder (a template ending in a separator,
        // or naming an existing folder), or a name longer than a file system takes. The longest name a later epoch can
        // give: the last epoch's number, and each value at its longest unformatted (-2.2250738585072014E-308) or
        // formatted (-12345.678, say, in F4); in UTF-8 bytes, against the 255 a name may have (Linux and macOS count
        // bytes). The temporary name ModelFile.Save writes first stays within them (AtomicFile.TemporaryBeside).
        string longest = string.Empty;
        foreach (double value in new[] { -2.2250738585072014E-308, -12345.678 })
        {
            var sample = new EpochMetrics(context.Epochs, value, value, value, value, 0)
            {
                Values = _placeholders.ToDictionary(name => name, _ => value, StringComparer.Ordinal),
            };
            string path = Path.GetFullPath(Format(_template, sample, context.StepsPerEpoch));
            if (Path.EndsInDirectorySeparator(path) || Directory.Exists(path))
            {
                throw new IOException($"ModelCheckpoint's path '{path}' is a folder: a checkpoint must be a file (end the path with a file name such as model.ncm).");
            }

            // Writable now, rather than found after an epoch has trained (a read-only file system).
            AtomicFile.ProveWritable(path, "ModelCheckpoint's path");

            string name = Path.GetFileName(path);
            longest = Encoding.UTF8.GetByteCount(name) > Encoding.UTF8.GetByteCount(longest) ? name : longest;
        }

        if (Encoding.UTF8.GetByteCount(longest) > 255)
        {
            throw new PathTooLongException(
                $"ModelCheckpoint's file names can reach {Encoding.UTF8.GetByteCount(longest)} bytes ('{longest}'), more than the 255 a file name may have: shorten the path's name.");
        }
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">With <see cref="SaveBestOnly"/>, the epoch does not report the monitored value.</exception>
    /// <exception cref="IOException">The file cannot be written; an earlier file under the same name is untouched.</exception>
    /// <exception cref="PathTooLongException">The epoch's values make the file name longer than 255 bytes (a huge value in a fixed-point format).</exception>
    public override void OnEpochEnd(EpochMetrics metrics, TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(context);
        if (SaveFrequency == 0)
        {
            Save(metrics, batch: 0, context);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">With <see cref="SaveBestOnly"/>, the epoch does not report the monitored value.</exception>
    /// <exception cref="IOException">The file cannot be written; an earlier file under the same name is untouched.</exception>
    /// <exception cref="PathTooLongException">The values make the file name longer than 255 bytes (a huge value in a fixed-point format).</exception>
    public override void OnBatchEnd(int epoch, int batch, Models.TrainStepResult result, TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (SaveFrequency == 0 || ++_stepsSinceSave < SaveFrequency)
        {
            return;
        }

        _stepsSinceSave = 0;
        SaveBetweenSteps(epoch, batch, context);
    }

    // Apart from OnBatchEnd: a lambda there made every call allocate its closure, steps that save nothing included.
    private void SaveBetweenSteps(int epoch, int batch, TrainingContext context)
    {
        IReadOnlyDictionary<string, double> values = context.EpochValuesSoFar();
        var running = new EpochMetrics(epoch, values["loss"], Scoring.MetricSet.AccuracyOf(values), null, null, 0)
        {
            Values = values,
        };
        // Fit keeps the first layer's weights in its products' order through an epoch's steps: the file gets them row-major.
        context.Model.WithRowMajorWeights(() => Save(running, batch, context));
    }

    // batch: the step within the epoch (from 1) of a save every N steps; 0 at an epoch's end.
    private void Save(EpochMetrics metrics, int batch, TrainingContext context)
    {
        if (SaveBestOnly)
        {
            // An epoch that does not validate is not saved: Keras saves it (the monitor is missing), which replaced the
            // best model with any later one.
            if (Monitoring.Read(metrics, context, Monitor, nameof(ModelCheckpoint)) is not { } value)
            {
                return;
            }

            bool improved = Monitoring.Improves(value, _best, Monitoring.Maximizes(Monitor, Mode), minDelta: 0);
            if (!improved)
            {
                return;
            }

            (_best, BestEpoch, BestBatch) = (value, metrics.Epoch, batch);
        }

        string path = Path.GetFullPath(Format(_template, metrics, batch));
        // OnTrainBegin bounds the name with values of ordinary length, but a fixed-point format has no bound: a loss of
        // 1e30 in .2f is 33 characters. The file system's own refusal named neither the value nor the format.
        int bytes = Encoding.UTF8.GetByteCount(Path.GetFileName(path));
        if (bytes > 255)
        {
            throw new PathTooLongException(Names.Printable(
                $"ModelCheckpoint's file name for epoch {metrics.Epoch}{(batch > 0 ? string.Create(CultureInfo.InvariantCulture, $", step {batch}") : "")} ('{Path.GetFileName(path)}') reaches {bytes} bytes, more than the 255 a file name may have: a value in it is longer than foreseen; format values that can grow large with a bounded length (.4g or .4e, not .4f). Nothing was saved for this epoch."));
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        ModelFile.Save(context.Model, path, IncludeOptimizer);
        LastSavedPath = path;
    }

    internal override string? FileWritten => Path.GetFullPath(_template);

    /// <summary>The path with its placeholders filled from the epoch, and <c>{batch}</c> from <paramref name="batch"/>.</summary>
    internal static string Format(string template, EpochMetrics metrics, int batch = 0) =>
        Placeholder().Replace(template, match =>
        {
            if (!match.Groups[1].Success)
            {
                return match.Value[..1];
            }

            string name = match.Groups[1].Value;
            double value = name == "epoch" ? metrics.Epoch : name == "batch" ? batch : metrics.Get(name) ?? throw new InvalidOperationException(
                $"ModelCheckpoint's path names '{name}', which epoch {metrics.Epoch} did not report.");
            return match.Groups[2].Success
                ? FormatValue(value, match.Groups[2].Value)!
                : name is "epoch" or "batch" ? value.ToString(CultureInfo.InvariantCulture) : PythonFormat.Repr(value);
        });

    /// <summary>
    /// A value as a placeholder's format writes it, or null for a format that is neither: Python's <c>[0][width]d</c>
    /// and <c>.Nf</c> (Keras's examples) through their .NET formats, Python's <c>.Ne</c>, <c>.Ng</c> and <c>.N%</c> by
    /// <see cref="PythonFormat.Exponent"/>, <see cref="PythonFormat.General"/> and <see cref="PythonFormat.Percent"/>, or a .NET numeric format. A width is accepted but,
    /// except by <c>d</c> (which pads with zeros), ignored; N defaults to 6, as in Python.
    /// </summary>
    internal static string? FormatValue(double value, string format)
    {
        Match python = PythonSpec().Match(format);
        // Python's % and a .NET custom format both read a format of zeros, a point and % alone: one that starts with the
        // point is Python's (0.975 in .0%: 98%), one that starts with a zero is .NET's, as before (0.975 in 0.0%: 97.5%,
        // where Python's would be a zero flag with no width and precision 0).
        if (python.Success && !(python.Groups[3].Value == "%" && format[0] == '0' && NetNumericFormat().IsMatch(format)))
        {
            int width = python.Groups[1].Success ? int.Parse(python.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
            int precision = python.Groups[2].Success ? int.Parse(python.Groups[2].Value, CultureInfo.InvariantCulture) : 6;
            return python.Groups[3].Value switch
            {
                "d" => value.ToString(new string('0', Math.Max(1, width)), CultureInfo.InvariantCulture),
                "f" => value.ToString("F" + precision.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
                "e" => PythonFormat.Exponent(value, precision),
                "g" => PythonFormat.General(value, precision),
                _ => PythonFormat.Percent(value, precision),
            };
        }

        // A .NET format must be made of format characters only, so that a typo does not pass as literal text, and hold a
        // digit placeholder: "%", "," or "-" alone printed no value, so every epoch overwrote one file.
        if (!NetNumericFormat().IsMatch(format))
        {
            return null;
        }

        try
        {
            return value.ToString(format, CultureInfo.InvariantCulture);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"^0?(\d{1,3})?(?:\.(\d{1,3}))?([dfeg%])$")]
    private static partial Regex PythonSpec();

    [GeneratedRegex(@"^(?:(?=[^0#]*[0#])[0#.,eE+\-%]+|[FNEG]\d{0,2})$")]
    private static partial Regex NetNumericFormat();

    // A doubled brace (a literal one), or {name} / {name:format}.
    [GeneratedRegex(@"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}")]
    private static partial Regex Placeholder();

    // Reads the model between steps only through WithRowMajorWeights, which puts the weights back in row-major order first.
    /// <inheritdoc/>
    public override bool ReadsModelBetweenSteps => false;
}
