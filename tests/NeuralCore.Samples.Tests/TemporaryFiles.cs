using MnistMlp;

namespace NeuralCore.Samples.Tests;

/// <summary>What a run left behind that it should not have: hidden files other than its folder's lock.</summary>
internal static class TemporaryFiles
{
    /// <summary>
    /// The hidden files in <paramref name="directory"/> (and its folders, with <paramref name="recursive"/>) other than
    /// <see cref="Trainer.LockFile"/>, which every run keeps on purpose (<see cref="Trainer.LockOutput"/>).
    /// </summary>
    public static string[] In(string directory, bool recursive = false) =>
        [.. Directory.GetFiles(directory, ".*", recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly)
            .Where(file => Path.GetFileName(file) != Trainer.LockFile)];
}
