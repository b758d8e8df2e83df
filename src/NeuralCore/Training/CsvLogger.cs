using System.Globalization;
using System.Text;
using NeuralCore.IO;

namespace NeuralCore.Training;

/// <summary>
/// Writes one CSV row per epoch, as Keras's <c>CSVLogger</c>: a header <c>epoch,…,seconds</c> with every value of the
/// epoch by its Keras name in between, sorted (<c>accuracy,loss,val_accuracy,val_loss</c>), then one row per epoch
/// appended and flushed as the epoch ends, so that the file is complete up to the last finished epoch whatever happens
/// later. Epochs are numbered from 1, as in <see cref="History"/> (Keras's file numbers them from 0). Numbers are
/// written invariantly with full precision, an undefined or diverged value as <c>NaN</c> and infinities as
/// <c>Infinity</c> and <c>-Infinity</c> (Keras writes Python's nan and inf; pandas and Python's float read both), and
/// the <c>val_</c> values of an epoch that does not validate (<see cref="FitOptions.ValidationFrequency"/>) as <c>NA</c>,
/// as Keras does (pandas reads it as missing). Also unlike Keras's file: a training without validation data has no
/// <c>val_</c> columns (Keras, whose first epoch's logs decide its columns, adds them whenever that epoch has no
/// <c>val_</c> value, and writes NA in them throughout); numbers are .NET's shortest round-trip form (<c>3</c>,
/// <c>1E-05</c>, where Python's writes <c>3.0</c>, <c>1e-05</c>; both read back the same); lines end with <c>\n</c>
/// (Python's csv writes <c>\r\n</c>); and appending checks that the file's header names this training's columns
/// (Keras appends whatever the header says).
/// </summary>
public sealed class CsvLogger : Callback
{
    private readonly string _path;
    private string[]? _columns;

    // What the first row of a training does to the file before it appends: replace it, or end an unfinished last
    // line. Deferred from OnTrainBegin, so that a training another callback then refuses leaves the file as it was.
    private bool _replace, _endLine;

    /// <summary>Creates the logger.</summary>
    /// <param name="path">The CSV file; its folder is created if needed.</param>
    /// <param name="separator">The field separator (default a comma): any character but a letter, a digit, <c>.</c>, <c>-</c>, <c>+</c>, a quote or a line break.</param>
    /// <param name="append">
    /// Whether to append to an existing file (to resume a run), whose header must then name the same columns; otherwise
    /// the file is replaced by the first epoch's row (a training refused before its first epoch leaves it as it was).
    /// </param>
    /// <exception cref="ArgumentException">The path is empty or the separator cannot separate numbers.</exception>
    public CsvLogger(string path, char separator = ',', bool append = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (char.IsLetterOrDigit(separator) || separator is '.' or '-' or '+' or '"' or '\n' or '\r')
        {
            throw new ArgumentException($"The separator '{separator}' would mix with the numbers; use a comma, a semicolon or a tab.", nameof(separator));
        }

        _path = Path.GetFullPath(path);
        Separator = separator;
        Append = append;
    }

    /// <summary>The file written, as a full path.</summary>
    public string FilePath => _path;

    /// <summary>The field separator.</summary>
    public char Separator { get; }

    /// <summary>Whether rows are appended to an existing file.</summary>
    public bool Append { get; }

    /// <inheritdoc/>
    /// <exception cref="IOException">The file cannot be created or read, the path is a directory, a named pipe, a device or a socket, or a folder on it is a file.</exception>
    /// <exception cref="InvalidOperationException">Appending to a file whose header names other columns than this training reports.</exception>
    /// <exception cref="UnauthorizedAccessException">The file or its folder is not writable, or a folder on the path does not let this user look inside.</exception>
    public override void OnTrainBegin(TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        (_columns, _replace, _endLine) = (null, false, false);
        bool exists = InputFile.KindOf(_path) != FileKind.Missing;
        if (exists)
        {
            // A directory was reported as "access denied", and a named pipe would block the training until read.
            InputFile.RequireRegular(_path, "CSV log");
            // Writable, found before the first epoch rather than after it; opened without truncating.
            using (new FileStream(_path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
            {
            }
        }
        else
        {
            AtomicFile.ProveWritable(_path, "CsvLogger's path");
        }

        if (Append && exists && new FileInfo(_path).Length > 0)
        {
            string[]? existing;
            using (var reader = new StreamReader(_path))
            {
                existing = reader.ReadLine()?.Split(Separator);
            }

            // Checked now, before an epoch is trained that could not be logged.
            string[] expected = Columns(context.ReportedValues);
            if (existing is null || (context.ReportedValues.Count > 0 && !existing.SequenceEqual(expected, StringComparer.Ordinal)))
            {
                throw new InvalidOperationException(
                    $"{_path} has the columns {string.Join(Separator, existing ?? [])}, but this training reports {string.Join(Separator, expected)}: log to a new file or set append: false.");
            }

            _columns = existing;

            // A run killed while writing a row may have left it without its line break; ended before the first row.
            using var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            stream.Seek(-1, SeekOrigin.End);
            _endLine = stream.ReadByte() != '\n';
        }
        else
        {
            // Replaced by the first row, not now: a training refused by a later callback's check had emptied the log
            // of the run before.
            _replace = true;
        }
    }

    private static string[] Columns(IReadOnlyList<string> values) => ["epoch", .. values.Order(StringComparer.Ordinal), "seconds"];

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">Appending to a file whose header names other columns.</exception>
    /// <exception cref="IOException">The row cannot be written.</exception>
    public override void OnEpochEnd(EpochMetrics metrics, TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(context);
        // What the training reports, not what this epoch holds: an epoch that does not validate has no val_ values.
        string[] columns = Columns(context.ReportedValues.Count > 0 ? context.ReportedValues : [.. metrics.Values.Keys]);
        var text = new StringBuilder();
        if (_columns is null)
        {
            text.AppendJoin(Separator, columns).Append('\n');
            _columns = columns;
        }
        else if (!_columns.SequenceEqual(columns, StringComparer.Ordinal))
        {
            throw new InvalidOperationException(
                $"{_path} has the columns {string.Join(Separator, _columns)}, but this training reports {string.Join(Separator, columns)}: log to a new file or set append: false.");
        }

        text.Append(metrics.Epoch.ToString(CultureInfo.InvariantCulture));
        foreach (string name in columns.AsSpan(1, columns.Length - 2))
        {
            // A NaN is a value the epoch measured (undefined, or diverged), written as NaN (Keras: nan), not left empty as
            // if missing; a value it did not measure (a val_ value of an epoch that does not validate) is NA, as in Keras.
            text.Append(Separator).Append(metrics.Values.TryGetValue(name, out double value)
                ? value.ToString("R", CultureInfo.InvariantCulture)
                : "NA");
        }

        text.Append(Separator).Append(metrics.Seconds.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        if (_endLine)
        {
            text.Insert(0, '\n');
        }

        if (_replace)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        }

        using var stream = new FileStream(_path, _replace ? FileMode.Create : FileMode.Append, FileAccess.Write, FileShare.Read);
        (_replace, _endLine) = (false, false);
        byte[] bytes = Encoding.UTF8.GetBytes(text.ToString());
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
    }

    /// <inheritdoc/>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public override void OnTrainEnd(TrainingContext context) => WriteHeaderIfNoRow(context);

    /// <inheritdoc/>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public override void OnTrainInterrupted(TrainingContext context) => WriteHeaderIfNoRow(context);

    // A training that ran but finished no epoch (stopped at its first step, or cancelled) still replaces the log of the
    // run before, with its own header, as Keras's file is replaced when training begins.
    private void WriteHeaderIfNoRow(TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_replace && context.ReportedValues.Count > 0)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
            File.WriteAllText(_path, string.Join(Separator, Columns(context.ReportedValues)) + "\n");
            _replace = false;
        }
    }

    internal override string? FileWritten => _path;

    // Acts between epochs only.
    /// <inheritdoc/>
    public override bool ReadsModelBetweenSteps => false;
}
