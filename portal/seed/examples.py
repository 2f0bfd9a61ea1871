"""Example ticket exports to try the import with (downloadable from the import page): a CSV in
GB18030 with Chinese headers as Chinese Excel saves it, and an XLSX with real date cells.

Both name the demo projects (``PRJ-<last year>-001`` … ``-020``, portal/demo), spell priorities
the ways ticket systems do, and close their tickets in the weeks before ``today``, so they
import cleanly into the demo data. The same day gives the same bytes (a fixed seed), so
importing a file twice shows every row unchanged. The two files hold different tickets.
"""
import io
import random
from datetime import date, datetime, time, timedelta

HEADERS = ("工单号", "项目编号", "优先级", "申告人", "联系电话", "创建时间", "关闭时间", "问题描述", "处理工程师")
PRIORITIES = ("P1", "1 - Critical", "紧急", "高", "P2", "2", "中", "一般", "Normal", "3", "低", "P4", "Low")
REPORTERS = ("王建国", "李晓红", "张志强", "刘海燕", "陈立新", "杨光", "赵丽华", "黄志明", "周小平", "吴敏")
ENGINEERS = ("周磊", "吴迪", "郑浩", "孙鹏", "钱涛")
PROBLEMS = ("核心交换机端口故障，部分楼层断网", "存储阵列硬盘告警，需更换故障盘", "视频会议终端无法入会",
            "防火墙策略变更申请", "机房精密空调温度告警", "虚拟机性能下降，申请扩容", "夜间备份任务失败",
            "无线网络覆盖不足，信号差", "服务器电源模块故障", "数据库连接数过高告警",
            "打印服务器队列阻塞", "OA 系统登录缓慢")
ROWS = 30


def _tickets(prefix, seed, today):
    """(id, project code, priority, reporter, phone, opened, closed, summary, engineer) in local time,
    closed over the 60 days before ``today``."""
    today = today or _today()
    rng = random.Random(seed)
    year = today.year - 1
    end = datetime.combine(today, time()) - timedelta(hours=2)
    tickets = []
    for n in range(ROWS):
        closed = end - timedelta(minutes=rng.randrange(60, 60 * 24 * 60))
        opened = closed - timedelta(minutes=rng.randrange(20, 60 * 24 * 3))
        tickets.append((
            f"{prefix}{closed:%Y%m%d}{n + 1:03d}", f"PRJ-{year}-{n % 20 + 1:03d}",
            PRIORITIES[n % len(PRIORITIES)], REPORTERS[rng.randrange(len(REPORTERS))],
            f"139{rng.randrange(10 ** 8):08d}", opened.replace(second=0), closed.replace(second=0),
            PROBLEMS[n % len(PROBLEMS)], ENGINEERS[n % len(ENGINEERS)]))
    return tickets


def _today():
    from ..services.quarters import local_today
    return local_today()


def example_csv(today: date | None = None) -> bytes:
    """30 tickets as GB18030 CSV, dates written two ways (2026-10-03 14:05 and 2026/10/03 14:05:00)."""
    import csv
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for n, (case_id, code, priority, reporter, phone, opened, closed, summary, engineer) in \
            enumerate(_tickets("GD", 20261, today)):
        shown = "%Y-%m-%d %H:%M" if n % 2 == 0 else "%Y/%m/%d %H:%M:%S"
        writer.writerow((case_id, code, priority, reporter, phone, opened.strftime(shown),
                         closed.strftime(shown), summary, engineer))
    return out.getvalue().encode("gb18030")


def example_xlsx(today: date | None = None) -> bytes:
    """30 other tickets as an XLSX workbook (sheet 工单导出) with Excel date cells."""
    import xlsxwriter
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("工单导出")
    bold = workbook.add_format({"bold": True})
    when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, HEADERS, bold)
    for r, (case_id, code, priority, reporter, phone, opened, closed, summary, engineer) in \
            enumerate(_tickets("SR", 20262, today), 1):
        sheet.write_string(r, 0, case_id)
        sheet.write_string(r, 1, code)
        sheet.write(r, 2, priority if not priority.isdigit() else int(priority))
        sheet.write_string(r, 3, reporter)
        sheet.write_number(r, 4, int(phone))  # as ticket systems often export phone numbers
        sheet.write_datetime(r, 5, opened, when)
        sheet.write_datetime(r, 6, closed, when)
        sheet.write_string(r, 7, summary)
        sheet.write_string(r, 8, engineer)
    sheet.set_column(0, 0, 16)
    sheet.set_column(5, 6, 17)
    sheet.set_column(7, 7, 36)
    workbook.close()
    return buffer.getvalue()
