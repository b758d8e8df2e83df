using System.Collections.Concurrent;

namespace NeuralCore.IO;

/// <summary>
/// Writes a file so that it is never seen half-written: the bytes go to a unique temporary file in the same folder,
/// flushed to disk, which is then renamed over the destination (a rename within a folder is atomic). A failure leaves
/// the previous file untouched and removes the temporary one. Model files, ONNX files and the trainer's reports are
/// all written this way.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes through <paramref name="write"/> into a temporary file beside <paramref name="path"/>, then renames it
    /// into place; first removes what killed writers of the same file left (<see cref="RemoveStale"/>).
    /// </summary>
    /// <param name="path">The destination; its folder must exist.</param>
    /// <param name="write">Writes the whole content to the stream it is given.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty, or ends with a directory separator.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="write"/> is null.</exception>
    /// <exception cref="IOException">
    /// The file cannot be written (a <see cref="DirectoryNotFoundException"/> when its folder does not exist), a
    /// folder on its path is a file, or the path is a directory, a FIFO, a device or a socket; the previous file, if
    /// any, is untouched.
    /// </exception>
    /// <exception cref="UnauthorizedAccessException">The folder or the file may not be written (permissions); the previous file, if any, is untouched.</exception>
    /// <remarks>
    /// A symbolic link stays a link: the file it leads to is replaced. A replaced file keeps its permissions (Unix).
    /// </remarks>
    public static void Write(string path, Action<Stream> write)
    {
        string full = FilePath(path);
        ArgumentNullException.ThrowIfNull(write);
        (full, string temporary) = Prepare(path, full);
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            Commit(temporary, full);
        }
        catch (Exception e) when (IsFileSystemError(e))
        {
            // What the writer threw of its own (a refused model) goes as it is.
            TryDelete(temporary);
            throw NamingPath(path, e);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>
    /// Puts a file the caller wrote itself in place of <paramref name="path"/>, with the guarantees of
    /// <see cref="Write(string, Action{Stream})"/>: the file is flushed to disk and then renamed over the destination, a
    /// symbolic link stays a link (the file it leads to is replaced), a replaced file keeps its permissions, and a
    /// directory, a FIFO, a device or a socket is not replaced. For content that cannot go through a stream at once: a
    /// log kept while a run goes on, a picture a plotting library draws to a path. Name the file with
    /// <see cref="TemporaryBeside"/>: then a killed process's file is removed later (<see cref="RemoveStale"/>), and
    /// the rename stays within one folder.
    /// </summary>
    /// <param name="temporary">
    /// The complete, closed file; gone once it is in place. Where it is not in the folder of the file it replaces (a
    /// link that leads into another folder), its bytes are copied there through <see cref="Write(string, Action{Stream})"/>
    /// and it is deleted, since a rename between folders may cross file systems, where it is not atomic. On failure it
    /// stays, for the caller to delete.
    /// </param>
    /// <param name="path">The destination; its folder must exist.</param>
    /// <exception cref="ArgumentException">
    /// <paramref name="temporary"/> or <paramref name="path"/> is null or empty, <paramref name="path"/> ends with a
    /// directory separator, or both name the same file.
    /// </exception>
    /// <exception cref="FileNotFoundException"><paramref name="temporary"/> does not exist.</exception>
    /// <exception cref="IOException">
    /// The file cannot be put in place (a <see cref="DirectoryNotFoundException"/> when the destination's folder does
    /// not exist), a folder on its path is a file, or the path is a directory, a FIFO, a device or a socket; the
    /// previous file, if any, is untouched.
    /// </exception>
    /// <exception cref="UnauthorizedAccessException">The folder or the file may not be written (permissions); the previous file, if any, is untouched.</exception>
    public static void MoveIntoPlace(string temporary, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(temporary);
        string full = FilePath(path);
        string source = Path.GetFullPath(temporary);
        if (source == full)
        {
            throw new ArgumentException($"Expected a temporary file other than the destination. Received: temporary=\"{temporary}\", path=\"{path}\".", nameof(temporary));
        }

        if (!File.Exists(source))
        {
            throw new FileNotFoundException($"Expected the written file to put in place of '{path}'. Received: temporary=\"{temporary}\" (no such file).", temporary);
        }

        full = CheckedDestination(path, full);
        if (Path.GetDirectoryName(source) != Path.GetDirectoryName(full))
        {
            Write(path, stream =>
            {
                using FileStream written = File.OpenRead(source);
                written.CopyTo(stream);
            });
            TryDelete(source);
            return;
        }

        try
        {
            // Its writer may have closed it without flushing it to disk: after a crash, the rename could be on disk
            // before the bytes, leaving an empty or truncated file where the previous one was.
            using (var stream = new FileStream(source, FileMode.Open, FileAccess.Write, FileShare.None))
            {
                stream.Flush(flushToDisk: true);
            }

            Commit(source, full);

            // After the rename, not before: the source carries this process's id and the destination's name, and a
            // source last written before this process started (copied with its old time, a server clock behind ours)
            // would have been taken for a killed run's file and deleted.
            RemoveStale(Path.GetDirectoryName(full)!, Path.GetFileName(full));
        }
        catch (Exception e) when (IsFileSystemError(e))
        {
            throw NamingPath(path, e);
        }
    }

    // The absolute path of the file `path` names, refusing a folder's path.
    private static string FilePath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        if (Path.GetFileName(full).Length == 0)
        {
            throw new ArgumentException($"Expected the path of a file. Received: path=\"{path}\" (a folder: it ends with a separator).", nameof(path));
        }

        return full;
    }

    private static bool IsFileSystemError(Exception e) =>
        e is UnauthorizedAccessException or DirectoryNotFoundException or PathTooLongException || e.GetType() == typeof(IOException);

    // The file system's own errors (no space, a read-only file system, permissions) named the hidden temporary file,
    // not the path the caller gave.
    private static Exception NamingPath(string path, Exception e)
    {
        string message = $"'{path}' could not be written ({e.Message}); the previous file, if any, is untouched.";
        return e switch
        {
            UnauthorizedAccessException => new UnauthorizedAccessException(message, e),
            DirectoryNotFoundException => new DirectoryNotFoundException(message, e),
            _ => new IOException(message, e),
        };
    }

    /// <summary>
    /// <see cref="Write(string, Action{Stream})"/> for a writer that may decline: <paramref name="write"/> streams the
    /// content asynchronously and returns whether it is complete and valid (a download checks its length and hash);
    /// only then is the file flushed and renamed into place. Declined, thrown or cancelled, the temporary file is
    /// removed and the previous file is untouched.
    /// </summary>
    /// <param name="path">The destination; its folder must exist.</param>
    /// <param name="write">Writes the content and says whether to keep it.</param>
    /// <returns>Whether the file was replaced.</returns>
    /// <remarks>
    /// What <paramref name="write"/> throws goes to the caller as it is (a network error is not a file's), unlike
    /// <see cref="Write(string, Action{Stream})"/>, which names the path in the file system's own errors.
    /// </remarks>
    internal static async Task<bool> TryWriteAsync(string path, Func<FileStream, Task<bool>> write)
    {
        string checkedPath = FilePath(path);
        ArgumentNullException.ThrowIfNull(write);
        (string full, string temporary) = Prepare(path, checkedPath);
        bool committed = false;
        try
        {
            var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
            await using (stream.ConfigureAwait(false))
            {
                if (!await write(stream).ConfigureAwait(false))
                {
                    return false;
                }

                stream.Flush(flushToDisk: true);
            }

            Commit(temporary, full);
            committed = true;
            return true;
        }
        finally
        {
            if (!committed)
            {
                TryDelete(temporary);
            }
        }
    }

    // The file the bytes go to, checked (its folder exists; a link is followed; no FIFO or device is replaced), and a
    // fresh temporary name beside it, once what killed writers of the same file left is removed.
    private static (string Full, string Temporary) Prepare(string path, string full)
    {
        full = CheckedDestination(path, full);
        RemoveStale(Path.GetDirectoryName(full)!, Path.GetFileName(full));
        return (full, TemporaryBeside(full));
    }

    // The file `path` (absolute: `full`) puts the bytes in, once its folder is known to exist (Destination).
    private static string CheckedDestination(string path, string full)
    {
        RequireFolder(path, "The path", folderMustExist: true);
        return Destination(path, full);
    }

    // The complete, flushed temporary file replaces the destination in one rename.
    private static void Commit(string temporary, string full)
    {
        if (!OperatingSystem.IsWindows() && File.Exists(full))
        {
            // The replacement keeps the file's permissions: a private model (0600) became world-readable (0644).
            File.SetUnixFileMode(temporary, File.GetUnixFileMode(full));
        }

        File.Move(temporary, full, overwrite: true);
        s_issued.TryRemove(temporary, out _);
    }

    // Where the bytes go for `path` (absolute: `full`): the file a symbolic link leads to (a link replaced by a regular
    // file left its target holding the old model), and never over what is not a regular file (a FIFO or a device
    // became a regular file, which their readers, and Load, refuse).
    private static string Destination(string path, string full)
    {
        if (new FileInfo(full).LinkTarget is not null)
        {
            full = File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full;
            RequireFolder(full, $"'{path}' is a link, and its target", folderMustExist: true);
        }

        string? instead = InputFile.KindOf(full) switch
        {
            FileKind.Directory => "a directory",
            FileKind.Fifo => "a named pipe (FIFO)",
            FileKind.Device => "a device",
            FileKind.Socket => "a socket",
            _ => null,
        };
        return instead is null
            ? full
            : throw new IOException($"'{path}' is {instead}, not a regular file: it is not replaced by one. Write to a file's path.");
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically (<see cref="Write(string, Action{Stream})"/>).</summary>
    /// <param name="path">The destination; its folder must exist.</param>
    /// <param name="bytes">The whole content.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty, or ends with a directory separator.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="bytes"/> is null.</exception>
    /// <exception cref="IOException">
    /// The file cannot be written (a <see cref="DirectoryNotFoundException"/> when its folder does not exist), a
    /// folder on its path is a file, or the path is a directory, a FIFO, a device or a socket; the previous file, if
    /// any, is untouched.
    /// </exception>
    /// <exception cref="UnauthorizedAccessException">The folder or the file may not be written (permissions); the previous file, if any, is untouched.</exception>
    public static void Write(string path, byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        Write(path, stream => stream.Write(bytes));
    }

    /// <summary>
    /// Throws when a folder on <paramref name="path"/>'s way is a file, or (with <paramref name="folderMustExist"/>) when
    /// its folder does not exist, naming the path given and that folder: the file system's own errors named the hidden
    /// temporary file written first, or reported a file in a folder's place as "already exists" or as a missing part.
    /// </summary>
    /// <param name="path">The file to be written.</param>
    /// <param name="what">What the path is, for the message ("ModelCheckpoint's path").</param>
    /// <param name="folderMustExist">Whether the folder must exist (false where the writer creates it).</param>
    /// <exception cref="IOException">A folder on the path is a file.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder must exist and does not.</exception>
    /// <returns>The nearest folder on the path that exists (the file's own folder when it does), or null if none does.</returns>
    internal static string? RequireFolder(string path, string what, bool folderMustExist)
    {
        string full = Path.GetFullPath(path);
        string? folder = Path.GetDirectoryName(full), existing = folder;
        while (existing is not null && !Directory.Exists(existing))
        {
            if (File.Exists(existing))
            {
                throw new IOException($"{what} '{path}' cannot be written: '{existing}' is a file, not a folder.");
            }

            existing = Path.GetDirectoryName(existing);
        }

        if (folderMustExist && existing != folder)
        {
            try
            {
                // Directory.Exists is false too for a folder that is there but cannot be looked at (a folder above it
                // without search permission): the file system's own error, UnauthorizedAccessException, says so.
                _ = File.GetAttributes(folder!);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                throw new DirectoryNotFoundException($"{what} '{path}' cannot be written: its folder '{folder}' does not exist.");
            }
        }

        return existing;
    }

    /// <summary>
    /// Proves that <paramref name="path"/> can be written later without writing it now: a temporary file is created
    /// and deleted in its folder or, where the folder does not exist yet, in the nearest folder above it that does (the
    /// writer creates the rest). A training checks its outputs this way before its first step, and leaves every file
    /// as it was if another check then refuses the training.
    /// </summary>
    /// <param name="path">The file to be written.</param>
    /// <param name="what">What the path is, for the message ("ModelCheckpoint's path").</param>
    /// <exception cref="IOException">A folder on the path is a file, or the folder does not take new files (a read-only file system).</exception>
    /// <exception cref="UnauthorizedAccessException">The folder is not writable.</exception>
    internal static void ProveWritable(string path, string what)
    {
        string? folder = RequireFolder(path, what, folderMustExist: false);
        // A short name: the folder's writability is proved, not the file name's length (a caller checks that itself).
        string probe = TemporaryBeside(Path.Combine(folder ?? Path.GetPathRoot(Path.GetFullPath(path))!, "w"));
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
            }

            TryDelete(probe);
        }
        catch (UnauthorizedAccessException e)
        {
            s_issued.TryRemove(probe, out _);
            throw new UnauthorizedAccessException($"{what} '{path}' cannot be written: the folder '{folder}' does not allow new files ({e.Message}).", e);
        }
        catch (IOException e)
        {
            s_issued.TryRemove(probe, out _);
            throw new IOException($"{what} '{path}' cannot be written: the folder '{folder}' does not take new files ({e.Message}).", e);
        }
    }

    /// <summary>
    /// A unique hidden name beside <paramref name="path"/>, <c>.name.pid.guid.tmp</c>, for content a caller writes
    /// itself and then renames; <see cref="RemoveStale"/> recognizes it once its process is gone. A file name of more
    /// than 205 UTF-8 bytes is cut to its first 205 there, so that the temporary name stays within the 255 bytes a
    /// file name may have whenever the destination's does.
    /// </summary>
    /// <param name="path">The destination.</param>
    /// <returns>The temporary file's full path.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    public static string TemporaryBeside(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{TemporaryStem(Path.GetFileName(full))}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        s_issued.TryAdd(temporary, 0);
        return temporary;
    }

    // The temporary names this process has handed out and not yet renamed or deleted here: live files, whatever their
    // write time says (one copied in with its old time predates this process, and so looked like a killed run's that
    // happened to share this process's pid, as every run in a container may), which RemoveStale leaves alone.
    private static readonly ConcurrentDictionary<string, byte> s_issued = new(StringComparer.Ordinal);

    // The part of a temporary name taken from the destination's: all of it up to 205 UTF-8 bytes, else its first 205
    // (whole characters). The rest of the name, ".pid.guid.tmp" and the leading dot, takes at most 50 bytes: the whole
    // name then fits the 255 bytes of a file name (Linux and macOS count bytes, Windows 255 UTF-16 units, never more).
    // A 212-byte name had given a 256-byte temporary name: a file the folder takes could not be saved.
    private static string TemporaryStem(string fileName)
    {
        const int MaxBytes = 255 - 50;
        if (System.Text.Encoding.UTF8.GetByteCount(fileName) <= MaxBytes)
        {
            return fileName;
        }

        int bytes = 0, end = 0;
        foreach (System.Text.Rune rune in fileName.EnumerateRunes())
        {
            if (bytes + rune.Utf8SequenceLength > MaxBytes)
            {
                break;
            }

            bytes += rune.Utf8SequenceLength;
            end += rune.Utf16SequenceLength;
        }

        return fileName[..end];
    }

    /// <summary>
    /// Deletes the temporary files (<c>.name.pid.guid.tmp</c>, or <c>.part</c>) that processes no longer running left in
    /// <paramref name="directory"/> when they were killed mid-write; only those of <paramref name="fileName"/> when
    /// given. A file of a live process, or one that cannot be deleted, is left alone. A process whose pid is reused (in
    /// a container each run is often pid 1) is recognized by its start time: a file last written more than a few
    /// seconds before the process of its pid started was left by another process, and is removed, the caller's own
    /// pid included, except a name <see cref="TemporaryBeside"/> gave this process that is not yet renamed or deleted
    /// here (a file copied into it keeps an older write time).
    /// </summary>
    /// <param name="directory">The folder to clean; nothing happens when it does not exist.</param>
    /// <param name="fileName">Only the temporary files of this destination (a file name, without a folder), or null for all.</param>
    /// <returns>How many files were removed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="directory"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="fileName"/> is empty, holds a NUL character, or holds a folder (a directory separator).
    /// </exception>
    public static int RemoveStale(string directory, string? fileName = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        // Checked here: the search pattern built from it reached Directory.EnumerateFiles, whose refusal named the
        // pattern (".a\0b.*.*") as its parameter.
        if (fileName is not null)
        {
            RequireFileName(fileName);
        }

        if (!Directory.Exists(directory))
        {
            return 0;
        }

        int removed = 0;
        string? stem = fileName is null ? null : TemporaryStem(fileName);
        string pattern = stem is null ? ".*.*.*" : $".{stem}.*.*";
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
            string name = Path.GetFileName(candidate);
            string[] parts = name.Split('.');
            // The pattern's wildcards are the file system's: a fileName holding * or ? matched other files' leftovers,
            // and "a" matched those of "a.b", so the name before the pid is compared exactly.
            if (parts.Length < 5 || (stem is not null && name != $".{stem}.{parts[^3]}.{parts[^2]}.{parts[^1]}")
                || parts[^1] is not ("tmp" or "part") || parts[^2].Length != 32
                || !int.TryParse(parts[^3], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int pid)
                || s_issued.ContainsKey(Path.GetFullPath(candidate)) || MayStillBeWriting(pid, File.GetLastWriteTimeUtc(candidate)))
            {
                continue;
            }

            TryDelete(candidate);
            removed += File.Exists(candidate) ? 0 : 1;
        }

        return removed;
    }

    private static void RequireFileName(string fileName)
    {
        int nul = fileName.IndexOf('\0', StringComparison.Ordinal);
        string? why = fileName.Length == 0 ? "empty"
            : nul >= 0 ? $"a NUL character at index {nul}"
            : Path.GetFileName(fileName) != fileName ? "a folder in it"
            : null;
        if (why is not null)
        {
            throw new ArgumentException(
                $"Expected a file name without a folder, or null for every file's. Received: fileName=\"{fileName.Replace("\0", "\\0", StringComparison.Ordinal)}\" ({why}).",
                nameof(fileName));
        }
    }

    // How much earlier than the file's last write a process may appear to have started and still be its writer: a
    // start time is derived from the boot time and the clock (it may be off by a clock tick or a rounded second), and
    // some file systems keep write times in whole seconds (two on FAT). A killed run's file left within this margin
    // before a new process of the same pid started is kept until a later run.
    private static readonly TimeSpan StartMargin = TimeSpan.FromSeconds(5);

    // Whether the process named in a temporary file's name may still be writing it: it runs, and it started before
    // the file was last written. A pid alone is not enough: in a container every run is often pid 1 (or another
    // small, fixed pid), so the killed run's files carry the pid of the run that looks at them, ours included.
    private static bool MayStillBeWriting(int pid, DateTime lastWriteUtc)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited && process.StartTime.ToUniversalTime() <= lastWriteUtc + StartMargin;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (InvalidOperationException)
        {
            return false; // it exited while being asked
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return true; // its start time cannot be read (another user's process on Windows): left alone
        }
        catch (NotSupportedException)
        {
            return true;
        }
    }

    /// <summary>Deletes a file if it can; a file that is gone or locked is left alone.</summary>
    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            s_issued.TryRemove(path, out _);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
