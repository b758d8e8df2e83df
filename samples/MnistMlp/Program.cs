using System.CommandLine;
using System.Runtime.InteropServices;
using MnistMlp;

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

// Failures become one "error: ..." line and an exit code (1, 130, or 70 for a bug), never a stack trace.
int Guard(Func<int> run) => Guarded.Run(run, Console.Error);

RootCommand root = Cli.Build(
    (settings, token) => Guard(() => trainer.Train(settings, CancellationTokenSource.CreateLinkedTokenSource(token, cancellation.Token).Token)),
    (settings, architectures, token) => Guard(() => trainer.Sweep(settings, architectures, CancellationTokenSource.CreateLinkedTokenSource(token, cancellation.Token).Token)),
    (model, settings, outputDirectory, token) => Guard(() => trainer.Evaluate(model, settings, outputDirectory, CancellationTokenSource.CreateLinkedTokenSource(token, cancellation.Token).Token)),
    directory => Guard(() => trainer.Verify(directory)));
int exit = await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
// Interrupted by a signal: the exit code says which one.
return exit == Trainer.Interrupted && signalExit != 0 ? signalExit : exit;
