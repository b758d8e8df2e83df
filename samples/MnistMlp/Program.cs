using System.CommandLine;
using System.Runtime.InteropServices;
using MnistMlp;
using NeuralCore.Configuration;

// SIGINT (Ctrl+C), SIGTERM and SIGHUP stop training at the next step boundary; the trainer then saves a checkpoint (if
// a step ran) and the process exits 128 + the signal's number: 130, 143 or 129. A second signal never kills the process
// halfway: stopping takes one step, and the checkpoint is written to a temporary file and renamed.
using var cancellation = new CancellationTokenSource();
int signalExit = 0;
void Stop(PosixSignalContext context, int exitCode)
{
    context.Cancel = true;
    Interlocked.CompareExchange(ref signalExit, exitCode, 0);
    cancellation.Cancel();
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => Stop(context, 130));
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => Stop(context, 143));
using var sighup = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGHUP, context => Stop(context, 129));

var trainer = new Trainer(Console.Out, Console.Error, interactive: !Console.IsOutputRedirected);

int Guard(Func<int> run)
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
        // Messages quote paths and file contents, whose escape sequences could clear the terminal or fake output.
        // Line by line: a message of several lines (each download mirror's failure) printed its breaks as '?'. The
        // lines after the first are indented, so no line of a quoted name can pass for the program's own.
        string[] lines = ex.Message.ReplaceLineEndings("\n").Split('\n');
        Console.Error.WriteLine($"error: {Names.Printable(lines[0])}");
        foreach (string line in lines.Skip(1))
        {
            Console.Error.WriteLine($"  {Names.Printable(line)}");
        }

        return 1;
    }
    catch (OperationCanceledException)
    {
        // Cancelled before training started (while loading or downloading data): nothing to save.
        Console.Error.WriteLine("Interrupted.");
        return Trainer.Interrupted;
    }
}

RootCommand root = Cli.Build(
    (settings, token) => Guard(() => trainer.Train(settings, CancellationTokenSource.CreateLinkedTokenSource(token, cancellation.Token).Token)),
    (settings, architectures, token) => Guard(() => trainer.Sweep(settings, architectures, CancellationTokenSource.CreateLinkedTokenSource(token, cancellation.Token).Token)),
    (model, settings, outputDirectory, token) => Guard(() => trainer.Evaluate(model, settings, outputDirectory, CancellationTokenSource.CreateLinkedTokenSource(token, cancellation.Token).Token)),
    directory => Guard(() => trainer.Verify(directory)));
int exit = await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
// Interrupted by a signal: the exit code says which one.
return exit == Trainer.Interrupted && signalExit != 0 ? signalExit : exit;
