using System.Runtime.Versioning;
using NeuralCore.IO;
using NeuralCore.Layers;
using NeuralCore.Models;
using NeuralCore.Serialization;

namespace NeuralCore.Tests.IO;

public sealed class AtomicFileTests : IDisposable
{
    // 0644: the mode a written temporary file would have under the usual umask, unlike the destinations' 0600.
    private const UnixFileMode ReadableByAll = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private readonly string _dir = Directory.CreateTempSubdirectory("neuralcore-atomic-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Saving_removes_what_killed_writers_of_that_file_left_and_keeps_the_rest()
    {
        string guid = Guid.NewGuid().ToString("N");
        // pid 2^22 + 7 exceeds Linux's pid_max, so no process has it.
        string stale = Path.Combine(_dir, $".m.ncm.4194311.{guid}.tmp");
        string live = Path.Combine(_dir, $".m.ncm.{Environment.ProcessId}.{guid}.tmp");
        string other = Path.Combine(_dir, $".other.ncm.4194311.{guid}.tmp");
        foreach (string path in new[] { stale, live, other })
        {
            File.WriteAllText(path, "x");
        }

        ModelFile.Save(new Sequential(2, seed: 1).Add(new Dense(1)), Path.Combine(_dir, "m.ncm"));
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(other));
        Assert.Equal(1, AtomicFile.RemoveStale(_dir));
        Assert.False(File.Exists(other));
    }

    [Fact]
    public void A_file_of_a_reused_pid_written_before_its_process_started_is_removed()
    {
        // In a container each run is often pid 1: a killed run's leftover carried the pid of the next run, which kept
        // it forever as its own. Our own pid stands for the reused one here; the process's start time tells them apart.
        string guid = Guid.NewGuid().ToString("N");
        string old = Path.Combine(_dir, $".m.ncm.{Environment.ProcessId}.{guid}.tmp");
        string current = Path.Combine(_dir, $".m.ncm.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(old, "x");
        File.WriteAllText(current, "x");
        DateTime started = System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime();
        File.SetLastWriteTimeUtc(old, started - TimeSpan.FromHours(1));

        Assert.Equal(1, AtomicFile.RemoveStale(_dir, "m.ncm"));
        Assert.False(File.Exists(old));
        Assert.True(File.Exists(current));
    }

    [Fact]
    public void A_temporary_name_this_process_was_given_survives_every_sweep_until_it_is_moved()
    {
        // Dated before this process started (copied in with its old time), a live temporary file looked like a killed
        // run's of a reused pid, and another sweep of its folder (a download's, another Write's) deleted it before its
        // owner moved it into place.
        string path = Path.Combine(_dir, "curves.png");
        string temporary = AtomicFile.TemporaryBeside(path);
        File.WriteAllBytes(temporary, [1, 2]);
        DateTime started = System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime();
        File.SetLastWriteTimeUtc(temporary, started - TimeSpan.FromHours(1));

        Assert.Equal(0, AtomicFile.RemoveStale(_dir));
        Assert.Equal(0, AtomicFile.RemoveStale(_dir, "curves.png"));
        AtomicFile.Write(path, stream => stream.WriteByte(9));
        Assert.True(File.Exists(temporary));
        AtomicFile.MoveIntoPlace(temporary, path);
        Assert.Equal([1, 2], File.ReadAllBytes(path));

        // Moved, the name is no longer this process's: a file of that name left again is a killed run's.
        File.WriteAllBytes(temporary, [3]);
        File.SetLastWriteTimeUtc(temporary, started - TimeSpan.FromHours(1));
        Assert.Equal(1, AtomicFile.RemoveStale(_dir, "curves.png"));
    }

    [Fact]
    public void MoveIntoPlace_keeps_a_temporary_file_of_its_own_written_before_the_process_started()
    {
        // Its name carries this process's id; dated before this process started (copied with its old time, a server
        // clock behind ours), the cleanup of killed runs' files took it for one and deleted it before the rename.
        string path = Path.Combine(_dir, "history.csv");
        string temporary = AtomicFile.TemporaryBeside(path);
        File.WriteAllBytes(temporary, [4, 5, 6]);
        File.SetLastWriteTimeUtc(temporary, System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime().AddHours(-1));
        AtomicFile.MoveIntoPlace(temporary, path);
        Assert.Equal([4, 5, 6], File.ReadAllBytes(path));
        Assert.Equal(["history.csv"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData(255, 'm')]
    [InlineData(211, 'm')]
    [InlineData(127, 'é')]
    public void A_file_name_as_long_as_a_folder_takes_is_saved_and_its_leftovers_removed(int count, char letter)
    {
        // The temporary name added ".pid.guid.tmp" (44 bytes and more) to the destination's: a name of 212 bytes or
        // more, which the folder takes, failed with PathTooLongException naming the hidden file.
        string name = new string(letter, count) + (letter == 'é' ? "a" : "");
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, "x");
        var model = new Sequential(2, seed: 1).Add(new Dense(1));
        ModelFile.Save(model, path);
        Assert.Equal(model.Parameters.ToArray(), ModelFile.Load(path).Parameters.ToArray());
        string temporary = Path.GetFileName(AtomicFile.TemporaryBeside(path));
        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(temporary), 1, 255);
        Assert.Equal([name], Directory.GetFiles(_dir).Select(Path.GetFileName));

        // A killed writer's leftover, under the cut name, is found by the destination's full name.
        string stale = Path.Combine(_dir, temporary.Replace($".{Environment.ProcessId}.", ".4194311.", StringComparison.Ordinal));
        File.WriteAllText(stale, "x");
        Assert.Equal(1, AtomicFile.RemoveStale(_dir, name));
        Assert.False(File.Exists(stale));
    }

    [Fact]
    public void A_file_name_with_wildcards_removes_only_its_own_leftovers()
    {
        // The search pattern is the file system's: "m?.ncm" matched ".mx.ncm..." too, another file's leftovers.
        string guid = Guid.NewGuid().ToString("N");
        string own = Path.Combine(_dir, $".m?.ncm.4194311.{guid}.tmp");
        string other = Path.Combine(_dir, $".mx.ncm.4194311.{guid}.tmp");
        string longer = Path.Combine(_dir, $".m?.ncm.bak.4194311.{guid}.tmp");
        File.WriteAllText(own, "x");
        File.WriteAllText(other, "x");
        File.WriteAllText(longer, "x");
        Assert.Equal(1, AtomicFile.RemoveStale(_dir, "m?.ncm"));
        Assert.False(File.Exists(own));
        Assert.True(File.Exists(other));
        Assert.True(File.Exists(longer));
    }

    [Theory]
    [InlineData("a\0b", "NUL")]
    [InlineData("", "empty")]
    [InlineData("sub/model.bin", "folder")]
    public void RemoveStale_names_fileName_when_it_is_not_a_file_name(string fileName, string why)
    {
        // "a\0b" was reported as a bad parameter named ".a\0b.*.*", the search pattern built from it.
        var e = Assert.Throws<ArgumentException>(() => AtomicFile.RemoveStale(_dir, fileName));
        Assert.Equal("fileName", e.ParamName);
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
        Assert.Equal(0, AtomicFile.RemoveStale(_dir, "model.bin"));
    }

    [Fact]
    public async Task A_writer_that_declines_or_throws_leaves_the_previous_file_and_no_temporary_one()
    {
        string path = Path.Combine(_dir, "file.bin");
        File.WriteAllText(path, "old");
        Assert.False(await AtomicFile.TryWriteAsync(path, async file =>
        {
            await file.WriteAsync("half"u8.ToArray());
            return false; // a download whose hash did not match
        }));
        await Assert.ThrowsAsync<HttpRequestException>(() => AtomicFile.TryWriteAsync(path, async file =>
        {
            await file.WriteAsync("half"u8.ToArray());
            throw new HttpRequestException("connection reset"); // passes as it is: not the file's error
        }));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal(["file.bin"], Directory.GetFiles(_dir).Select(Path.GetFileName));

        Assert.True(await AtomicFile.TryWriteAsync(path, async file =>
        {
            await file.WriteAsync("new"u8.ToArray());
            return true;
        }));
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(["file.bin"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void Write_to_a_folder_path_names_path()
    {
        // Write passes the path's file name on to RemoveStale; a path ending in a separator has none, and must be
        // refused under Write's own parameter, not RemoveStale's.
        var e = Assert.Throws<ArgumentException>(() => AtomicFile.Write(_dir + Path.DirectorySeparatorChar, [1, 2]));
        Assert.Equal("path", e.ParamName);
        Assert.Contains("a folder", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void Write_under_a_file_or_into_a_missing_folder_names_the_path_and_that_folder()
    {
        // Both were a DirectoryNotFoundException naming the hidden temporary file (".m.ncm.<pid>.<guid>.tmp"), a path
        // the caller never gave, and a file in the folder's place was reported as a missing part of the path.
        string file = Path.Combine(_dir, "runs");
        File.WriteAllText(file, "x");
        string under = Path.Combine(file, "sub", "m.ncm");
        var e = Assert.Throws<IOException>(() => AtomicFile.Write(under, [1, 2]));
        Assert.Contains($"'{under}'", e.Message, StringComparison.Ordinal);
        Assert.Contains($"'{file}' is a file, not a folder", e.Message, StringComparison.Ordinal);

        string missing = Path.Combine(_dir, "none", "m.ncm");
        var m = Assert.Throws<DirectoryNotFoundException>(() => ModelFile.Save(new Sequential(2, seed: 1).Add(new Dense(1)), missing));
        Assert.Contains($"'{missing}'", m.Message, StringComparison.Ordinal);
        Assert.Contains($"'{Path.Combine(_dir, "none")}' does not exist", m.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(".tmp", m.Message, StringComparison.Ordinal);
        Assert.Equal(["runs"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [SkippableFact]
    [UnsupportedOSPlatform("windows")]
    public void Write_through_a_symbolic_link_replaces_its_target_and_keeps_the_link_and_the_files_permissions()
    {
        // The link became a regular file and its target kept the old bytes; a private file (0600) became 0644.
        Skip.If(OperatingSystem.IsWindows(), "Unix file modes, symbolic links and named pipes");

        string target = Path.Combine(_dir, "target.ncm"), link = Path.Combine(_dir, "link.ncm");
        File.WriteAllBytes(target, [9]);
        File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.CreateSymbolicLink(link, "target.ncm");
        AtomicFile.Write(link, [1, 2]);
        Assert.Equal("target.ncm", new FileInfo(link).LinkTarget);
        Assert.Equal([1, 2], File.ReadAllBytes(target));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(target));
        Assert.Equal(["link.ncm", "target.ncm"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Order());
    }

    [SkippableFact]
    [UnsupportedOSPlatform("windows")]
    public void Write_over_a_named_pipe_or_a_device_is_refused_and_leaves_it()
    {
        // Both became regular files (as root, /dev/full too), which their readers and ModelFile.Load refuse.
        Skip.If(OperatingSystem.IsWindows(), "Unix file modes, symbolic links and named pipes");

        string fifo = NamedPipe.Make(Path.Combine(_dir, "pipe.ncm"));

        var e = Assert.Throws<IOException>(() => AtomicFile.Write(fifo, [1]));
        Assert.Equal($"'{fifo}' is a named pipe (FIFO), not a regular file: it is not replaced by one. Write to a file's path.", e.Message);
        Assert.Equal(FileKind.Fifo, InputFile.KindOf(fifo));
        e = Assert.Throws<IOException>(() => AtomicFile.Write("/dev/full", [1]));
        Assert.StartsWith("'/dev/full' is a device", e.Message, StringComparison.Ordinal);
        Assert.Equal(FileKind.Device, InputFile.KindOf("/dev/full"));
        Assert.Equal(["pipe.ncm"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [SkippableFact]
    [UnsupportedOSPlatform("windows")]
    public void A_write_the_file_system_refuses_names_the_path_given_not_the_temporary_file()
    {
        // "Access to the path '/…/.m.ncm.<pid>.<guid>.tmp' is denied": a file the caller never named.
        Skip.If(OperatingSystem.IsWindows(), "Unix file modes, symbolic links and named pipes");

        string folder = Path.Combine(_dir, "readonly"), path = Path.Combine(folder, "m.ncm");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(path, [7]);
        FileAccessOverride.WithModes(
            () =>
            {
                var e = Assert.Throws<UnauthorizedAccessException>(() => AtomicFile.Write(path, [1, 2]));
                Assert.StartsWith($"'{path}' could not be written (", e.Message, StringComparison.Ordinal);
                Assert.EndsWith("); the previous file, if any, is untouched.", e.Message, StringComparison.Ordinal);
            },
            (folder, UnixFileMode.UserRead | UnixFileMode.UserExecute));
        Assert.Equal([7], File.ReadAllBytes(path));
        Assert.Equal(["m.ncm"], Directory.GetFileSystemEntries(folder).Select(Path.GetFileName));
    }

    [SkippableFact]
    [UnsupportedOSPlatform("windows")]
    public void Write_into_a_folder_that_cannot_be_looked_at_is_refused_as_access_denied_not_as_missing()
    {
        // Directory.Exists is false for a folder under one without search permission, which was then reported as
        // missing (DirectoryNotFoundException "its folder ... does not exist"); the write itself said access denied.
        Skip.If(OperatingSystem.IsWindows(), "Unix file modes, symbolic links and named pipes");

        string locked = Path.Combine(_dir, "locked"), folder = Path.Combine(locked, "sub");
        Directory.CreateDirectory(folder);

        // Root looks through any folder: the check runs on a thread without that override (CI runs as root).
        FileAccessOverride.WithModes(
            () =>
            {
                Assert.False(Directory.Exists(folder));
                var e = Assert.Throws<UnauthorizedAccessException>(() => AtomicFile.Write(Path.Combine(folder, "m.ncm"), [1, 2]));
                Assert.Contains(folder, e.Message, StringComparison.Ordinal);
            },
            (locked, UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.Equal(["sub"], Directory.GetFileSystemEntries(locked).Select(Path.GetFileName));
    }

    [Fact]
    public void MoveIntoPlace_renames_a_written_file_over_the_destination_keeping_its_permissions()
    {
        // The trainer renamed its history with File.Move: no flush to disk, and a private file (0600) became 0644.
        string path = Path.Combine(_dir, "history.csv");
        File.WriteAllBytes(path, [9]);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        string temporary = AtomicFile.TemporaryBeside(path);
        File.WriteAllBytes(temporary, [1, 2, 3]);
        if (!OperatingSystem.IsWindows())
        {
            // Another mode than the destination's whatever the umask, so that a plain rename would be seen.
            File.SetUnixFileMode(temporary, ReadableByAll);
        }

        AtomicFile.MoveIntoPlace(temporary, path);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        Assert.Equal(["history.csv"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData(255, 'm')]
    [InlineData(127, 'é')]
    public void MoveIntoPlace_takes_the_temporary_name_of_a_destination_as_long_as_a_folder_takes(int count, char letter)
    {
        // The trainer's own temporary name had no length cut: a 212-byte name failed with PathTooLongException.
        string name = new string(letter, count) + (letter == 'é' ? "a" : "");
        string path = Path.Combine(_dir, name);
        string temporary = AtomicFile.TemporaryBeside(path);
        File.WriteAllBytes(temporary, [4]);
        AtomicFile.MoveIntoPlace(temporary, path);
        Assert.Equal([4], File.ReadAllBytes(path));
        Assert.Equal([name], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [SkippableFact]
    [UnsupportedOSPlatform("windows")]
    public void MoveIntoPlace_through_a_link_replaces_its_target_in_its_own_folder_or_in_another_one()
    {
        // A rename over the link replaced the link by a regular file and left its target holding the old bytes.
        Skip.If(OperatingSystem.IsWindows(), "Unix file modes, symbolic links and named pipes");

        string elsewhere = Path.Combine(_dir, "elsewhere");
        Directory.CreateDirectory(elsewhere);
        foreach ((string link, string target, string linkText) in new[]
        {
            (Path.Combine(_dir, "near.csv"), Path.Combine(_dir, "near-target.csv"), "near-target.csv"),
            (Path.Combine(_dir, "far.csv"), Path.Combine(elsewhere, "far-target.csv"), Path.Combine("elsewhere", "far-target.csv")),
        })
        {
            File.WriteAllBytes(target, [9]);
            File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.CreateSymbolicLink(link, linkText);
            string temporary = AtomicFile.TemporaryBeside(link);
            File.WriteAllBytes(temporary, [1, 2]);
            File.SetUnixFileMode(temporary, ReadableByAll);
            AtomicFile.MoveIntoPlace(temporary, link);
            Assert.Equal(linkText, new FileInfo(link).LinkTarget);
            Assert.Equal([1, 2], File.ReadAllBytes(target));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(target));
            Assert.False(File.Exists(temporary));
        }

        Assert.Equal(["elsewhere", "far.csv", "near-target.csv", "near.csv"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(["far-target.csv"], Directory.GetFileSystemEntries(elsewhere).Select(Path.GetFileName));
    }

    [Fact]
    public void MoveIntoPlace_refuses_a_missing_file_and_the_destination_itself()
    {
        string path = Path.Combine(_dir, "m.csv"), temporary = AtomicFile.TemporaryBeside(path);
        var missing = Assert.Throws<FileNotFoundException>(() => AtomicFile.MoveIntoPlace(temporary, path));
        Assert.Equal($"Expected the written file to put in place of '{path}'. Received: temporary=\"{temporary}\" (no such file).", missing.Message);
        File.WriteAllBytes(path, [7]);
        var same = Assert.Throws<ArgumentException>(() => AtomicFile.MoveIntoPlace(path, path));
        Assert.Equal("temporary", same.ParamName);
        Assert.Equal([7], File.ReadAllBytes(path));
    }

    [SkippableFact]
    [UnsupportedOSPlatform("windows")]
    public void MoveIntoPlace_refuses_a_named_pipe_and_keeps_the_temporary_file()
    {
        Skip.If(OperatingSystem.IsWindows(), "named pipes made with mkfifo");

        string fifo = NamedPipe.Make(Path.Combine(_dir, "pipe.csv"));

        string written = AtomicFile.TemporaryBeside(fifo);
        File.WriteAllBytes(written, [1]);
        var e = Assert.Throws<IOException>(() => AtomicFile.MoveIntoPlace(written, fifo));
        Assert.Equal($"'{fifo}' is a named pipe (FIFO), not a regular file: it is not replaced by one. Write to a file's path.", e.Message);
        Assert.Equal(FileKind.Fifo, InputFile.KindOf(fifo));
        Assert.Equal([1], File.ReadAllBytes(written));
    }

    [SkippableFact]
    [UnsupportedOSPlatform("windows")]
    public void MoveIntoPlace_that_the_file_system_refuses_names_the_path_given_and_leaves_the_previous_file()
    {
        Skip.If(OperatingSystem.IsWindows(), "Unix file modes, symbolic links and named pipes");

        string folder = Path.Combine(_dir, "readonly"), path = Path.Combine(folder, "m.csv");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(path, [7]);
        string temporary = AtomicFile.TemporaryBeside(path);
        File.WriteAllBytes(temporary, [1, 2]);
        FileAccessOverride.WithModes(
            () =>
            {
                var e = Assert.Throws<UnauthorizedAccessException>(() => AtomicFile.MoveIntoPlace(temporary, path));
                Assert.StartsWith($"'{path}' could not be written (", e.Message, StringComparison.Ordinal);
                Assert.EndsWith("); the previous file, if any, is untouched.", e.Message, StringComparison.Ordinal);
            },
            (folder, UnixFileMode.UserRead | UnixFileMode.UserExecute));
        Assert.Equal([7], File.ReadAllBytes(path));
        Assert.Equal([1, 2], File.ReadAllBytes(temporary));
    }
}
