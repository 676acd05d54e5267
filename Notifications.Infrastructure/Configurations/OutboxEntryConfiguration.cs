using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Notifications.Infrastructure.Data;

namespace Notifications.Infrastructure.Configurations;

internal sealed class OutboxEntryConfiguration : IEntityTypeConfiguration<OutboxEntry>
{
    public void Configure(EntityTypeBuilder<OutboxEntry> builder)
    {
        builder.ToTable("Outbox");
        builder.HasKey(o => o.Id);
        builder.Property(o => o.Kind).HasConversion<byte>();
        builder.Property(o => o.LeasedBy).HasMaxLength(OutboxEntry.LeasedByMaxLength);
        builder.HasOne<Notification>().WithMany().HasForeignKey(o => o.NotificationId).OnDelete(DeleteBehavior.Cascade);
        builder.HasIndex(o => o.LeaseUntil);
    }
}
