namespace NeuralCore.IO;

/// <summary>
/// Writes a file so that it is never seen half-written: the bytes go to a unique temporary file in the same folder,
/// flushed to disk, which is then renamed over the destination (a rename within a folder is atomic). A failure leaves
/// the previous file untouched and removes the temporary one.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes through <paramref name="write"/>, then renames into <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string temporary = TemporaryBeside(full);
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, byte[] bytes) => Write(path, stream => stream.Write(bytes));

    /// <summary>A unique hidden name beside <paramref name="path"/>: <c>.name.pid.guid.tmp</c>.</summary>
    public static string TemporaryBeside(string path)
    {
        string full = Path.GetFullPath(path);
        return Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
    }

    /// <summary>Deletes a file if it can; a file that is gone or locked is left alone.</summary>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
