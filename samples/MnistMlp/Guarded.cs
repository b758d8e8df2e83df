using NeuralCore.Configuration;

namespace MnistMlp;

/// <summary>
/// Runs a command and turns its failures into exit codes and one-line messages on standard error, never a stack trace.
/// </summary>
internal static class Guarded
{
    /// <summary>The exit code of a failure the trainer did not foresee (a bug): 70, sysexits' <c>EX_SOFTWARE</c>.</summary>
    public const int InternalError = 70;

    /// <summary>
    /// Runs <paramref name="run"/>. Bad data, a missing or unreadable file, a failed download or a refused setting
    /// exits 1; cancellation before training exits <see cref="Trainer.Interrupted"/>; anything else exits
    /// <see cref="InternalError"/>. Each is reported as <c>error: </c> and the message, control characters replaced.
    /// </summary>
    /// <param name="run">The command; returns its exit code.</param>
    /// <param name="error">Where the messages go.</param>
    /// <returns>The command's exit code, or the failure's.</returns>
    public static int Run(Func<int> run, TextWriter error)
    {
        try
        {
            return run();
        }
        catch (Exception ex) when (ex is InvalidDataException or FileNotFoundException or DirectoryNotFoundException
            or IOException or UnauthorizedAccessException or NotSupportedException or HttpRequestException or ArgumentException
            or InsufficientMemoryException)
        {
            // Bad data, a missing file or a failed download: one line that names the file and the problem.
            Report(error, ex.Message);
            return 1;
        }
        catch (OperationCanceledException)
        {
            // Cancelled before training started (while loading or downloading data): nothing to save.
            error.WriteLine("Interrupted.");
            return Trainer.Interrupted;
        }
        catch (Exception ex)
        {
            // A failure no handler above foresees is a bug, but a stack trace helps no user of the trainer and could
            // print a hostile name's escape sequences raw: one line, with the exception's type for the bug report.
            Report(error, $"unexpected {ex.GetType().Name}: {ex.Message} (this is a bug in the trainer)");
            return InternalError;
        }
    }

    // Messages quote paths and file contents, whose escape sequences could clear the terminal or fake output.
    // Line by line: a message of several lines (each download mirror's failure) printed its breaks as '?'. The lines
    // after the first are indented, so no line of a quoted name can pass for the program's own.
    private static void Report(TextWriter error, string message)
    {
        string[] lines = message.ReplaceLineEndings("\n").Split('\n');
        error.WriteLine($"error: {Names.Printable(lines[0])}");
        foreach (string line in lines.Skip(1))
        {
            error.WriteLine($"  {Names.Printable(line)}");
        }
    }
}
