using System.Diagnostics;

namespace NeuralCore.Tests.IO;

/// <summary>Named pipes (FIFOs) for the tests that check that readers and writers refuse them instead of blocking.</summary>
internal static class NamedPipe
{
    /// <summary>Makes a named pipe at <paramref name="path"/> with <c>mkfifo</c> (Unix only) and returns the path.</summary>
    public static string Make(string path)
    {
        using Process mkfifo = Process.Start("mkfifo", [path])!;
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
        return path;
    }
}
