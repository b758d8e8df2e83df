using System.Diagnostics;
using System.Text;
using NeuralCore.Models;
using NeuralCore.Training;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace MnistMlp;

/// <summary>
/// The trainer's progress on a terminal, drawn by Spectre.Console: a live line for the running epoch (its number, a
/// bar, the step count, the time left and the running loss and metrics), replaced at the epoch's end by the line that
/// <see cref="ProgressLogger"/> writes at verbose 2, so that the scrollback reads as Keras's and as a redirected run's.
/// Only inside <see cref="Run"/>, which owns the live display.
/// </summary>
/// <remarks>
/// The epoch lines and warnings come from a <see cref="ProgressLogger"/> writing to a buffer (one format, tested in the
/// library), written above the live display through the same console (Spectre's render hook keeps the display below
/// them). The running values are formatted by <see cref="ProgressLogger.FormatValue"/>.
/// </remarks>
internal sealed class SpectreProgress : Callback
{
    /// <summary>How often the running values are recomputed: the display redraws ten times a second.</summary>
    private const long RedrawMilliseconds = 100;

    /// <summary>
    /// The narrowest terminal drawn on: below it the columns would be squeezed and wrapped (at 60 columns the bar took
    /// one character and the time two lines), and <see cref="ProgressLogger"/>, which fits any width, draws instead.
    /// </summary>
    public const int MinimumWidth = 60;

    /// <summary>The time left as <see cref="RemainingTimeColumn"/> draws it: <c>hh:mm:ss</c>.</summary>
    private const int TimeWidth = 8;

    /// <summary>The columns beside the values: the description, the bar, the steps and the time, one space apart.</summary>
    private const int Separators = 4;

    private readonly IAnsiConsole _console;
    private readonly StringBuilder _lines = new();
    private readonly ProgressLogger _epochLines;
    private readonly Stopwatch _clock = new();
    private ProgressContext? _context;
    private ProgressTask? _task;
    private long _lastUpdate;
    private readonly int _bar;

    /// <summary>Creates the display for <paramref name="console"/>, at least <see cref="MinimumWidth"/> columns wide.</summary>
    public SpectreProgress(IAnsiConsole console)
    {
        _console = console;
        // As wide as Keras's (30) where the values fit beside it: "Epoch 1/10", "1688/1688", the time and "loss: 0.1234 -
        // accuracy: 0.9876" take 63 columns.
        _bar = Math.Clamp(console.Profile.Width - 63, 10, 30);
        // A StringWriter over a builder holds nothing to release.
        _epochLines = new ProgressLogger(2, new StringWriter(_lines, Formats.Culture), interactive: false);
    }

    /// <summary>
    /// Runs <paramref name="fit"/> (a training that has this callback) inside the live display, which is gone when it
    /// returns or throws.
    /// </summary>
    public T Run<T>(Func<T> fit) => _console.Progress()
        .AutoClear(true)
        .HideCompleted(true)
        .ExcludeVerticalPadding(true)
        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn { Width = _bar }, new StepsColumn(), new RemainingTimeColumn(), new ValuesColumn(_bar))
        .Start(context =>
        {
            _context = context;
            try
            {
                return fit();
            }
            finally
            {
                _context = null;
            }
        });

    /// <inheritdoc/>
    public override void OnTrainBegin(TrainingContext context)
    {
        _epochLines.OnTrainBegin(context);
        WriteLines();
    }

    /// <inheritdoc/>
    public override void OnEpochBegin(int epoch, TrainingContext context)
    {
        _epochLines.OnEpochBegin(epoch, context);
        if (_context is null)
        {
            throw new InvalidOperationException("SpectreProgress draws only inside its Run method.");
        }

        _task = _context.AddTask($"Epoch {epoch}/{context.Epochs}", maxValue: context.StepsPerEpoch);
        _clock.Restart();
        _lastUpdate = -RedrawMilliseconds;
    }

    /// <inheritdoc/>
    public override void OnBatchEnd(int epoch, int batch, TrainStepResult result, TrainingContext context)
    {
        _epochLines.OnBatchEnd(epoch, batch, result, context);
        long now = _clock.ElapsedMilliseconds;
        if (_task is null || now - _lastUpdate < RedrawMilliseconds)
        {
            return;
        }

        // Not at every step: a step of 784-128-10 takes about 0.1 ms, and the values cost a dictionary. Loss first, as the
        // epoch lines have it.
        _lastUpdate = now;
        var values = new StringBuilder();
        foreach ((string name, double value) in context.EpochValuesSoFar().OrderBy(v => v.Key == "loss" ? 0 : 1).ThenBy(v => v.Key, StringComparer.Ordinal))
        {
            values.Append(values.Length == 0 ? string.Empty : " - ").Append(name).Append(": ").Append(ProgressLogger.FormatValue(value));
        }

        _task.Tag = values.ToString();
        _task.Value = batch;
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(EpochMetrics metrics, TrainingContext context)
    {
        _epochLines.OnEpochEnd(metrics, context);
        StopTask();
        WriteLines();
    }

    /// <inheritdoc/>
    public override void OnTrainInterrupted(TrainingContext context) => StopTask();

    /// <inheritdoc/>
    public override bool ReadsModelBetweenSteps => false;

    private void StopTask()
    {
        _task?.StopTask();
        _task = null;
    }

    private void WriteLines()
    {
        string text = _lines.ToString();
        _lines.Clear();
        foreach (string line in text.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries))
        {
            // Plain text, not markup: a metric's name in brackets would be read as a style.
            _console.WriteLine(line);
        }
    }

    /// <summary><c>step/steps</c>, as Keras's bar begins.</summary>
    private sealed class StepsColumn : ProgressColumn
    {
        protected override bool NoWrap => true;

        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime)
        {
            string steps = ((long)task.MaxValue).ToString(Formats.Culture);
            return new Text(((long)task.Value).ToString(Formats.Culture).PadLeft(steps.Length) + "/" + steps);
        }
    }

    /// <summary>
    /// The running loss and metrics, cut with an ellipsis to the room the other columns leave on the terminal's line
    /// (as wide as it is at each redraw), so that the line never wraps.
    /// </summary>
    private sealed class ValuesColumn(int bar) : ProgressColumn
    {
        protected override bool NoWrap => true;

        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime)
        {
            string values = task.Tag as string ?? string.Empty;
            int steps = (2 * ((long)task.MaxValue).ToString(Formats.Culture).Length) + 1;
            // One column spare: a line that fills the last column moves the cursor on some terminals.
            int room = options.ConsoleSize.Width - task.Description.Length - bar - steps - TimeWidth - Separators - 1;
            return new Text(values.Length <= room ? values : room > 1 ? values[..(room - 1)] + "…" : string.Empty);
        }
    }
}
