using System.Runtime.ExceptionServices;

namespace MnistMlp;

/// <summary>Writing a run's independent outputs side by side.</summary>
internal static class Outputs
{
    /// <summary>
    /// Runs <paramref name="writers"/> in parallel and returns when all have finished. If any failed, the first
    /// failure is rethrown as itself (not wrapped in an <see cref="AggregateException"/>), so the caller's handling of
    /// I/O errors still sees an <see cref="IOException"/> naming the file.
    /// </summary>
    public static void Together(params Action[] writers)
    {
        try
        {
            Parallel.Invoke(writers);
        }
        catch (AggregateException failed)
        {
            ExceptionDispatchInfo.Throw(failed.Flatten().InnerExceptions[0]);
        }
    }

    /// <summary>Waits for a writer started on another thread, rethrowing its failure as itself.</summary>
    public static void Join(Task writer) => writer.GetAwaiter().GetResult();
}
