using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Types;

namespace KgdbOe.Kernel
{
    /// <summary>
    /// Walks a kernel list into its entries, as list_for_each_entry and hlist_for_each_entry do
    /// (include/linux/list.h): each node is the <c>member</c> of an entry, the entry is container_of(node, type, member).
    /// One read per entry (sizeof(type)); the next pointer comes from the same bytes. A node seen twice ends the walk
    /// with <see cref="KernelListCycleException"/>, a pointer that cannot be read with <see cref="KernelBadPointerException"/>,
    /// after the entries before it were handed out.
    /// </summary>
    public sealed class KernelListWalker
    {
        /// <summary>No kernel list is this long; a walk that gets here has lost its way.</summary>
        public const int MaxEntries = 1_000_000;

        private readonly KernelContext _context;
        private readonly ulong _head;
        private readonly KernelType _entryType;
        private readonly string _member;
        private readonly ulong _memberOffset;
        private readonly bool _hlist;
        private readonly HashSet<ulong> _seen = new HashSet<ulong>();
        private ulong? _next; // the next node to visit; null before the head is read
        private bool _done;

        private KernelListWalker(KernelContext context, ulong head, KernelType entryType, string member, bool hlist)
        {
            _context = context;
            _head = head;
            _entryType = entryType;
            _member = member;
            _hlist = hlist;
            KernelField field = context.FindField(entryType, member);
            string expected = hlist ? "hlist_node" : "list_head";
            if (!(field.Type.Resolve() is StructType st) || st.Name != expected)
                throw new KernelLayoutException(
                    $"'{entryType.DisplayName}.{member}' is a '{field.Type.DisplayName}', not a struct {expected}{(hlist ? "" : " (use -Hlist for an hlist)")}.",
                    entryType.DisplayName + "." + member);
            _memberOffset = field.Offset;
        }

        /// <summary>A walk of the list_head at <paramref name="head"/> whose nodes are <paramref name="member"/> of <paramref name="entryType"/>.</summary>
        public static KernelListWalker ForList(KernelContext context, ulong head, KernelType entryType, string member) =>
            new KernelListWalker(context, head, entryType, member, hlist: false);

        /// <summary>A walk of the hlist_head at <paramref name="head"/> whose nodes are <paramref name="member"/> (an hlist_node) of <paramref name="entryType"/>.</summary>
        public static KernelListWalker ForHlist(KernelContext context, ulong head, KernelType entryType, string member) =>
            new KernelListWalker(context, head, entryType, member, hlist: true);

        /// <summary>How many entries were handed out.</summary>
        public int Count { get; private set; }

        /// <summary>The byte offset of the node in an entry (container_of's offsetof).</summary>
        public ulong MemberOffset => _memberOffset;

        /// <summary>The next entry, or null at the end of the list.</summary>
        public async Task<KernelObject?> NextAsync(CancellationToken ct)
        {
            if (_done) return null;
            if (_next == null)
            {
                // list_head.next and hlist_head.first are both at offset 0.
                _next = await _context.ReadUInt64Async(_head, _hlist ? "struct hlist_head" : "struct list_head", ct).ConfigureAwait(false);
            }
            ulong node = _next.Value;
            if (_hlist ? node == 0 : node == _head)
            {
                _done = true;
                return null;
            }
            if (!_seen.Add(node) || Count >= MaxEntries)
            {
                _done = true;
                throw new KernelListCycleException(_head, node, Count);
            }
            string what = _entryType.DisplayName + " (container of " + (_hlist ? "hlist_node " : "list_head ") + _member + " at " + KernelObjectException.Hex(node) + ")";
            KernelObject entry;
            try
            {
                KernelContext.CheckPointer(node, what);
                byte[] bytes = await _context.ReadBytesAsync(unchecked(node - _memberOffset), checked((int)_entryType.Size), what, ct).ConfigureAwait(false);
                entry = new KernelObject(_context, unchecked(node - _memberOffset), _entryType, bytes, 0);
            }
            catch (KernelBadPointerException)
            {
                _done = true;
                throw;
            }
            _next = KernelObject.ToUInt64(entry.GetMember(_member + ".next"), _member + ".next");
            Count++;
            return entry;
        }

        /// <summary>Every entry; the first error is thrown and the entries before it are lost (use <see cref="NextAsync"/> to keep them).</summary>
        public async Task<IReadOnlyList<KernelObject>> ReadAllAsync(CancellationToken ct)
        {
            var entries = new List<KernelObject>();
            for (KernelObject? e = await NextAsync(ct).ConfigureAwait(false); e != null; e = await NextAsync(ct).ConfigureAwait(false))
                entries.Add(e);
            return entries;
        }
    }
}
