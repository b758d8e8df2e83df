using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace NeuralCore.Training;

/// <summary>
/// Training progress in the console, with Keras's <c>verbose</c> meanings. Verbose 1 on a terminal: an
/// <c>Epoch i/N</c> line, then a progress bar redrawn in place on one line (at most ten times a second) with the running
/// loss and training metrics (<see cref="TrainingContext.EpochValuesSoFar"/>, as Keras's bar shows its batch logs), kept
/// within the terminal's width so that it never wraps (cut at its right end when they do not fit). Verbose 1 with output redirected, and
/// verbose 2: one line per epoch. Verbose 0: nothing. Each finished epoch ends with its time per step, the training
/// loss and metrics, and the validation ones.
/// </summary>
public sealed class ProgressLogger : Callback
{
    private const int MaxBar = 30;
    private readonly TextWriter _output;
    private readonly Stopwatch _clock = new();
    private long _lastDraw;
    private int _drawn;
    private int _steps; // the last step of the current epoch that ended

    /// <summary>Creates the logger.</summary>
    /// <param name="verbose">0: silent; 1: a progress bar on a terminal, one line per epoch otherwise; 2: one line per epoch.</param>
    /// <param name="output">Where to write; null for the console's standard output.</param>
    /// <param name="interactive">
    /// Whether <paramref name="output"/> is a terminal that honours a carriage return; null decides: true for the
    /// console when its output is not redirected, false for any other writer.
    /// </param>
    /// <param name="width">
    /// The terminal's width in columns, at least 2; null reads the console's width (80 when it cannot be read).
    /// Used only when interactive.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="verbose"/> is not 0, 1 or 2, or <paramref name="width"/> is below 2.</exception>
    public ProgressLogger(int verbose = 1, TextWriter? output = null, bool? interactive = null, int? width = null)
    {
        if (verbose is < 0 or > 2)
        {
            throw new ArgumentOutOfRangeException(nameof(verbose), verbose, "Expected verbose 0 (silent), 1 (progress bar) or 2 (one line per epoch).");
        }

        if (width is { } columns)
        {
            Check.AtLeast(columns, 2, nameof(width), "a terminal width (columns)");
        }

        Verbose = verbose;
        _output = output ?? Console.Out;
        Interactive = interactive ?? (output is null && !Console.IsOutputRedirected);
        Width = width ?? ConsoleWidth();
    }

    /// <summary>The verbosity: 0, 1 or 2.</summary>
    public int Verbose { get; }

    /// <summary>Whether the bar is redrawn in place.</summary>
    public bool Interactive { get; }

    /// <summary>The width in columns that a redrawn line stays within.</summary>
    public int Width { get; }

    private bool DrawsBar => Verbose == 1 && Interactive;

    /// <inheritdoc/>
    public override void OnTrainBegin(TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Verbose > 0)
        {
            foreach (string warning in context.History.Warnings)
            {
                _output.WriteLine("warning: " + warning);
            }
        }
    }

    /// <inheritdoc/>
    public override void OnEpochBegin(int epoch, TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _clock.Restart();
        // The first step always draws.
        (_drawn, _lastDraw, _steps) = (0, -1000, 0);
        if (DrawsBar)
        {
            _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Epoch {epoch}/{context.Epochs}"));
        }
    }

    /// <inheritdoc/>
    public override void OnBatchEnd(int epoch, int batch, Models.TrainStepResult result, TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _steps = batch;
        long now = _clock.ElapsedMilliseconds;
        if (!DrawsBar || (now - _lastDraw < 100 && batch != context.StepsPerEpoch))
        {
            return;
        }

        _lastDraw = now;
        double seconds = now / 1000.0;
        double eta = batch == 0 ? 0 : seconds / batch * (context.StepsPerEpoch - batch);
        // As Keras's bar shows its batch logs: the loss and every training metric over the epoch's steps so far.
        var tail = new StringBuilder();
        foreach ((string name, double value) in Ordered(context.EpochValuesSoFar()))
        {
            Append(tail, name, value);
        }

        string time = string.Create(CultureInfo.InvariantCulture, $" ETA {eta:0}s");
        Draw(Line(batch, context.StepsPerEpoch, time, tail.ToString(), Width - 1), clear: true);
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(EpochMetrics metrics, TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(context);
        if (Verbose == 0)
        {
            return;
        }

        var tail = new StringBuilder();
        foreach ((string name, double value) in Ordered(metrics.Values))
        {
            Append(tail, name, value);
        }

        // The steps the epoch ran: fewer than StepsPerEpoch when a callback stopped it (the bar was drawn full and the
        // time divided by the whole epoch's steps). Keras's bar ends where the epoch stopped too.
        int steps = _steps > 0 ? _steps : context.StepsPerEpoch;
        double perStep = metrics.Seconds * 1000 / Math.Max(1, steps);
        string time = string.Create(CultureInfo.InvariantCulture, $" {metrics.Seconds:0.0}s {perStep:0.00}ms/step");
        if (DrawsBar)
        {
            // The last line stays whole even if it must wrap: nothing redraws it.
            Draw(Line(steps, context.StepsPerEpoch, time, tail.ToString(), int.MaxValue, Width - 1), clear: true);
            _output.WriteLine();
            _drawn = 0;
        }
        else
        {
            _output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Epoch {metrics.Epoch}/{context.Epochs} - {(steps == context.StepsPerEpoch ? $"{steps} steps" : $"{steps} of {context.StepsPerEpoch} steps")} -{time}{tail}"));
        }

        _output.Flush();
    }

    /// <inheritdoc/>
    public override void OnTrainInterrupted(TrainingContext context)
    {
        // A half-drawn bar would otherwise have whatever the caller prints next appended to it.
        if (_drawn > 0)
        {
            _output.WriteLine();
            _drawn = 0;
            _output.Flush();
        }
    }

    /// <summary>
    /// <c>step/steps [====>....] time - name: value …</c>, the bar as wide as the room leaves (up to 30, none under 5),
    /// then cut to <paramref name="limit"/> characters.
    /// </summary>
    internal static string Line(int step, int steps, string time, string tail, int limit, int room = -1)
    {
        room = room < 0 ? limit : room;
        string counter = string.Create(CultureInfo.InvariantCulture, $"{step.ToString(CultureInfo.InvariantCulture).PadLeft(steps.ToString(CultureInfo.InvariantCulture).Length)}/{steps}");
        int bar = Math.Min(MaxBar, room - counter.Length - 3 - time.Length - tail.Length);
        string text = counter;
        if (bar >= 5)
        {
            int done = (int)((long)bar * step / Math.Max(1, steps));
            string fill = step >= steps ? new string('=', bar) : new string('=', Math.Max(0, done - 1)) + ">" + new string('.', bar - Math.Max(1, done));
            text += " [" + fill + "]";
        }

        text += time + tail;
        return text.Length <= limit ? text : text[..limit];
    }

    private void Draw(string line, bool clear)
    {
        int pad = clear ? Math.Max(0, _drawn - line.Length) : 0;
        _output.Write("\r" + line + new string(' ', pad));
        _drawn = line.Length;
        _output.Flush();
    }

    private static void Append(StringBuilder text, string name, double value) =>
        text.Append(" - ").Append(name).Append(": ").Append(FormatValue(value));

    // F and E round the exact binary value; the custom formats 0.0000 and 0.0000e+00 rounded its 15-digit decimal form,
    // so 1.00105 (1.00104999…) printed 1.0011 where Keras prints 1.0010.
    /// <summary>
    /// A loss or metric value as Keras's <c>Progbar</c> prints it, and as this logger does: four decimals above 1e-3 in
    /// magnitude (<c>0.1235</c>), otherwise four decimals of exponent form (<c>5.0000e-04</c>; 0 too: Keras prints
    /// <c>0.0000e+00</c>), rounded from the exact value with ties to even as Python's <c>.4f</c> and <c>.4e</c> do; NaN
    /// and the infinities as .NET writes them. For a progress display of one's own that reads like this one.
    /// </summary>
    /// <param name="value">The value.</param>
    /// <returns>The text, in the invariant culture.</returns>
    public static string FormatValue(double value) => Math.Abs(value) > 1e-3 || !double.IsFinite(value)
        ? value.ToString("F4", CultureInfo.InvariantCulture)
        : PythonFormat.Exponent(value, 4);

    /// <summary>The training values first (loss, then metrics), then the validation ones in the same order.</summary>
    private static IEnumerable<KeyValuePair<string, double>> Ordered(IReadOnlyDictionary<string, double> values) =>
        values.OrderBy(v => v.Key.StartsWith("val_", StringComparison.Ordinal))
              .ThenBy(v => v.Key is "loss" or "val_loss" ? 0 : 1)
              .ThenBy(v => v.Key, StringComparer.Ordinal);

    private static int ConsoleWidth()
    {
        try
        {
            // A narrow terminal's own width, however narrow: assuming 80 there wrapped every redrawn line, and each
            // redraw left the wrapped rows behind (a 12-column terminal).
            int width = Console.IsOutputRedirected ? 0 : Console.WindowWidth;
            if (width >= 2)
            {
                return width;
            }
        }
        catch (IOException)
        {
        }
        catch (PlatformNotSupportedException)
        {
        }

        return int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), NumberStyles.None, CultureInfo.InvariantCulture, out int columns) && columns >= 2
            ? columns
            : 80;
    }

    // Writes progress from the step's result only.
    /// <inheritdoc/>
    public override bool ReadsModelBetweenSteps => false;
}
