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
        RemoveStale(Path.GetDirectoryName(full)!, Path.GetFileName(full));
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

    /// <summary>
    /// Deletes the temporary files (<c>.name.pid.guid.tmp</c>, or <c>.part</c>) that processes no longer running left in
    /// <paramref name="directory"/> when they were killed mid-write; only those of <paramref name="fileName"/> when
    /// given. A file of a live process, or one that cannot be deleted, is left alone.
    /// </summary>
    /// <returns>How many files were removed.</returns>
    public static int RemoveStale(string directory, string? fileName = null)
    {
        if (!Directory.Exists(directory))
        {
            return 0;
        }

        int removed = 0;
        string pattern = fileName is null ? ".*.*.*" : $".{fileName}.*.*";
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(directory, pattern, new EnumerationOptions { AttributesToSkip = 0 }).ToArray();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }

        foreach (string candidate in candidates)
        {
            // .name.pid.guid.tmp: the pid and the 32-digit guid before the extension.
            string[] parts = Path.GetFileName(candidate).Split('.');
            if (parts.Length < 5 || parts[^1] is not ("tmp" or "part") || parts[^2].Length != 32
                || !int.TryParse(parts[^3], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int pid)
                || pid == Environment.ProcessId || IsRunning(pid))
            {
                continue;
            }

            TryDelete(candidate);
            removed += File.Exists(candidate) ? 0 : 1;
        }

        return removed;
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
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
